"""Run ``dtool-lookup`` in-process with click's CliRunner in a clean environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from lookup_events.cli import main
from lookup_events.config import SETTINGS, Settings


def clean_env(data_dir: Path, **overrides: str) -> dict[str, str | None]:
    """Return an environment naming only ``data_dir``: every other setting unset."""
    env: dict[str, str | None] = {name: None for v in SETTINGS for name in v.names}
    env["DTOOL_LOOKUP_DATA_DIR"] = str(data_dir)
    env.update(overrides)
    return env


class LookupCli:
    """Invokes the command line with a fixed environment."""

    def __init__(self, env: dict[str, str | None]) -> None:
        self.env = env
        self._runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        """Run ``dtool-lookup ARGS``; unexpected exceptions propagate."""
        return self._runner.invoke(main, list(args), env=self.env, catch_exceptions=False)

    def ok(self, *args: str) -> Result:
        """Run and assert exit code 0."""
        result = self(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        """Run, assert success, and parse stdout as JSON."""
        return json.loads(self.ok(*args).stdout)

    def settings(self) -> Settings:
        """The settings the command line sees."""
        return Settings.from_env({k: v for k, v in self.env.items() if v is not None})
