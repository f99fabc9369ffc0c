"""The command group: help without a database, hidden 0.18 spellings, outages as exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli_runner import LookupCli, clean_env


@pytest.mark.parametrize(
    "args", [["--help"], ["user", "--help"], ["base_uri", "index", "--help"], ["serve", "--help"]]
)
def test_help_needs_no_database(tmp_path: Path, args: list[str]) -> None:
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    cli = LookupCli(clean_env(tmp_path / "data", DTOOL_LOOKUP_DATABASE_URL=unreachable))
    result = cli.ok(*args)
    assert "Usage:" in result.stdout
    assert not (tmp_path / "data").exists()


def test_legacy_spellings_are_hidden_from_help(tmp_path: Path) -> None:
    cli = LookupCli(clean_env(tmp_path))
    assert "base_uri" not in cli.ok("--help").stdout
    user_help = cli.ok("user", "--help").stdout
    assert "search-permission" in user_help
    assert "search_permission" not in user_help
    assert "--is_admin" not in cli.ok("user", "add", "--help").stdout


def test_unreachable_database_is_one_line_on_stderr(tmp_path: Path) -> None:
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    cli = LookupCli(clean_env(tmp_path, DTOOL_LOOKUP_DATABASE_URL=unreachable))
    result = cli("user", "list")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()
