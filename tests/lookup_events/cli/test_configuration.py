"""``dtool-lookup config show|versions`` and ``db upgrade``."""

from __future__ import annotations

from pathlib import Path

from lookup_events.config import SETTINGS
from lookup_events.versions import component_versions
from tests.support.cli_runner import LookupCli, clean_env


def test_config_show_names_every_variable_and_hides_secrets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    cli = LookupCli(
        clean_env(tmp_path, DTOOL_LOOKUP_DATABASE_URL=url, JWT_ACCESS_TOKEN_EXPIRES="60")
    )
    shown = cli.json("config", "show")
    assert list(shown) == [variable.names[0] for variable in SETTINGS]
    assert shown["DTOOL_LOOKUP_DATA_DIR"] == str(tmp_path)
    assert shown["DTOOL_LOOKUP_DATABASE_URL"] == "***"
    assert shown["DTOOL_LOOKUP_BROKER_URL"] == "***"
    assert shown["JWT_ACCESS_TOKEN_EXPIRES"] == 60
    assert shown["DTOOL_LOOKUP_PORT"] == 5000
    assert shown["CORS_ORIGINS"] == ["*"]
    assert shown["DTOOL_LOOKUP_WEBHOOK_SECRET"] == ""
    assert url not in cli.ok("config", "show").stdout


def test_config_versions_matches_the_api(tmp_path: Path) -> None:
    cli = LookupCli(clean_env(tmp_path))
    versions = cli.json("config", "versions")
    assert versions == component_versions()
    assert versions["dtool_lookup_server"] == "0.18.0"
    assert versions["dtoolcore"]


def test_db_upgrade_creates_the_embedded_database_and_is_idempotent(tmp_path: Path) -> None:
    cli = LookupCli(clean_env(tmp_path / "fresh"))
    cli.ok("db", "upgrade")
    assert (tmp_path / "fresh" / "lookup.db").is_file()
    cli.ok("db", "upgrade")
    cli.ok("user", "add", "olssont")


def test_embedded_commands_need_no_separate_upgrade(tmp_path: Path) -> None:
    cli = LookupCli(clean_env(tmp_path / "fresh"))
    cli.ok("user", "add", "olssont")
    assert [user["username"] for user in cli.json("user", "list")] == ["olssont"]
