"""Reading an old server's SQL database: what is not one is refused before anything is written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support.cli_runner import LookupCli

MIGRATE = ("migrate", "from-dtool-lookup-server")


def test_a_missing_old_database_is_refused(cli: LookupCli, tmp_path: Path) -> None:
    result = cli(*MIGRATE, "--from-sql", f"sqlite:///{tmp_path / 'nothing.db'}")
    assert result.exit_code == 1
    assert "no SQLite database" in result.stderr
    assert not (tmp_path / "nothing.db").exists()


def test_a_database_of_another_program_is_refused(cli: LookupCli, tmp_path: Path) -> None:
    cli.ok("user", "add", "grumpy")  # creates and migrates the new server's own database
    own = cli.settings().database_url
    result = cli(*MIGRATE, "--from-sql", own)
    assert result.exit_code == 1
    assert "not a dtool-lookup-server database: no table base_uri, user" in result.stderr


def test_a_file_that_is_no_database_is_refused_without_sql(cli: LookupCli, tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("meeting notes, not a database\n" * 100)

    result = cli(*MIGRATE, "--from-sql", f"sqlite:///{notes}")

    assert result.exit_code == 1
    assert "not a dtool-lookup-server database: file is not a database" in result.stderr
    assert "[SQL:" not in result.stderr and "sqlalche.me" not in result.stderr


def test_tables_of_the_old_names_without_their_columns_are_refused_without_sql(
    cli: LookupCli, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE user (id INTEGER, name TEXT)")
        connection.execute("CREATE TABLE base_uri (id INTEGER, base_uri TEXT)")
    connection.close()

    result = cli(*MIGRATE, "--from-sql", f"sqlite:///{other}")

    assert result.exit_code == 1
    assert "not a dtool-lookup-server database: table user has no column" in result.stderr
    assert "is_admin, username" in result.stderr
    assert "SELECT" not in result.stderr and "[SQL:" not in result.stderr
