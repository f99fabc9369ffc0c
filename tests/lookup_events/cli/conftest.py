"""Command-line fixtures: ``cli`` runs ``dtool-lookup`` in-process on a fresh database.

A module needing another arrangement (the embedded data directory, datasets
to index) defines a fixture of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli_runner import LookupCli, clean_env


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> LookupCli:
    """The command line on a fresh database (SQLite, then PostgreSQL), migrated."""
    runner = LookupCli(clean_env(tmp_path / "data", DTOOL_LOOKUP_DATABASE_URL=database_url))
    runner.ok("db", "upgrade")
    return runner
