"""``dtool-lookup user|base-uri|config|db``: 0.18 messages, exit codes and JSON."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lookup_events.config import SETTINGS
from lookup_events.versions import component_versions
from tests.support.cli_runner import LookupCli, clean_env


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> LookupCli:
    """The command line on a fresh database (SQLite, then PostgreSQL), migrated."""
    runner = LookupCli(clean_env(tmp_path / "data", DTOOL_LOOKUP_DATABASE_URL=database_url))
    runner.ok("db", "upgrade")
    return runner


def local(path: Path) -> str:
    return f"file://{socket.gethostname()}{path}"


def test_user_add_and_list(cli: LookupCli) -> None:
    cli.ok("user", "add", "olssont")
    cli.ok("user", "add", "--is-admin", "overlord")

    assert cli.json("user", "list") == [
        {
            "username": "olssont",
            "is_admin": False,
            "search_permissions_on_base_uris": [],
            "register_permissions_on_base_uris": [],
        },
        {
            "username": "overlord",
            "is_admin": True,
            "search_permissions_on_base_uris": [],
            "register_permissions_on_base_uris": [],
        },
    ]


def test_user_list_is_indented_json(cli: LookupCli) -> None:
    cli.ok("user", "add", "olssont")
    assert cli.ok("user", "list").stdout.startswith('[\n  {\n    "username": "olssont",')


@pytest.mark.parametrize("flag", ["-a", "--is-admin", "--is_admin"])
def test_every_spelling_of_the_admin_flag_works(cli: LookupCli, flag: str) -> None:
    cli.ok("user", "add", flag, "overlord")
    assert cli.json("user", "list")[0]["is_admin"] is True


def test_adding_a_user_twice_fails(cli: LookupCli) -> None:
    cli.ok("user", "add", "olssont")
    result = cli("user", "add", "olssont")
    assert result.exit_code == 1
    assert result.stderr.strip() == "User 'olssont' already registered"
    assert result.stdout == ""


def test_update_sets_the_admin_flag_to_the_option(cli: LookupCli) -> None:
    cli.ok("user", "add", "olssont")
    cli.ok("user", "update", "--is_admin", "olssont")
    assert cli.json("user", "list")[0]["is_admin"] is True
    cli.ok("user", "update", "olssont")
    assert cli.json("user", "list")[0]["is_admin"] is False


def test_update_of_an_unknown_user_fails(cli: LookupCli) -> None:
    result = cli("user", "update", "-a", "ghost")
    assert result.exit_code == 1
    assert result.stderr.strip() == "User 'ghost' is not registered yet"
    assert cli.json("user", "list") == []


def test_delete_removes_the_user_and_is_silent_for_unknown_users(cli: LookupCli) -> None:
    cli.ok("user", "add", "olssont")
    cli.ok("base-uri", "add", "s3://bucket")
    cli.ok("user", "search-permission", "olssont", "s3://bucket")

    assert cli.ok("user", "delete", "olssont").stdout == ""
    assert cli.json("user", "list") == []
    assert cli.json("base-uri", "list")[0]["users_with_search_permissions"] == []
    assert cli.ok("user", "delete", "olssont").stderr == ""


def test_permissions_show_in_both_lists(cli: LookupCli) -> None:
    cli.ok("user", "add", "olssont")
    cli.ok("user", "add", "grumpy")
    cli.ok("base-uri", "add", "s3://dtool-demo")
    cli.ok("user", "search-permission", "olssont", "s3://dtool-demo")
    cli.ok("user", "search_permission", "grumpy", "s3://dtool-demo")
    cli.ok("user", "register_permission", "olssont", "s3://dtool-demo")

    [listed] = cli.json("base-uri", "list")
    assert list(listed) == [
        "base_uri",
        "users_with_search_permissions",
        "users_with_register_permissions",
    ]
    assert listed["base_uri"] == "s3://dtool-demo"
    assert sorted(listed["users_with_search_permissions"]) == ["grumpy", "olssont"]
    assert listed["users_with_register_permissions"] == ["olssont"]
    olssont = cli.json("user", "list")[0]
    assert olssont["search_permissions_on_base_uris"] == ["s3://dtool-demo"]
    assert olssont["register_permissions_on_base_uris"] == ["s3://dtool-demo"]


@pytest.mark.parametrize("kind", ["search", "register"])
def test_permission_errors_come_in_the_0_18_order(cli: LookupCli, kind: str) -> None:
    command = f"{kind}-permission"

    def error(*args: str) -> str:
        result = cli("user", command, *args)
        assert result.exit_code == 1
        return result.stderr.strip()

    assert error("ghost", "s3://nowhere") == "Base URI 's3://nowhere' not registered"
    cli.ok("base-uri", "add", "s3://bucket")
    assert error("ghost", "s3://bucket") == "User 'ghost' not registered"
    cli.ok("user", "add", "olssont")
    cli.ok("user", command, "olssont", "s3://bucket")
    assert error("olssont", "s3://bucket") == f"User 'olssont' already has {kind} permissions"


def test_base_uri_add_normalises_local_paths(cli: LookupCli, tmp_path: Path) -> None:
    cli.ok("base-uri", "add", str(tmp_path / "archive"))
    cli.ok("base_uri", "add", "s3://bucket/")
    listed = [item["base_uri"] for item in cli.json("base-uri", "list")]
    assert listed == [local(tmp_path / "archive"), "s3://bucket"]


def test_adding_a_base_uri_twice_fails(cli: LookupCli) -> None:
    cli.ok("base-uri", "add", "s3://bucket")
    result = cli("base-uri", "add", "s3://bucket/")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Base URI 's3://bucket' already registered"


def test_permission_on_a_path_spelling_of_a_base_uri(cli: LookupCli, tmp_path: Path) -> None:
    cli.ok("base-uri", "add", str(tmp_path))
    cli.ok("user", "add", "olssont")
    cli.ok("user", "search-permission", "olssont", f"file://{tmp_path}/")
    assert cli.json("user", "list")[0]["search_permissions_on_base_uris"] == [local(tmp_path)]


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
