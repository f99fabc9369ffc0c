"""Legacy import fixtures: an old deployment written by the real 0.18.0, our command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.anchor_deployment import Anchor, build_anchor
from tests.support.cli_runner import LookupCli, clean_env


@pytest.fixture(scope="module")
def anchor(tmp_path_factory: pytest.TempPathFactory) -> Anchor:
    """The old deployment, built once for this module."""
    return build_anchor(tmp_path_factory.mktemp("anchor"))


@pytest.fixture
def cli(tmp_path: Path) -> LookupCli:
    """The new server's command line, on an empty SQLite data directory."""
    return LookupCli(clean_env(tmp_path / "data"))
