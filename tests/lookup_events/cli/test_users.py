"""``dtool-lookup user ...``: 0.18 messages, exit codes and JSON; tokens that verify."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lookup_events.keys import PRIVATE_KEY_NAME, PUBLIC_KEY_NAME
from tests.support.cli_runner import LookupCli, clean_env


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


def test_permission_on_a_path_spelling_of_a_base_uri(cli: LookupCli, tmp_path: Path) -> None:
    cli.ok("base-uri", "add", str(tmp_path))
    cli.ok("user", "add", "olssont")
    cli.ok("user", "search-permission", "olssont", f"file://{tmp_path}/")
    assert cli.json("user", "list")[0]["search_permissions_on_base_uris"] == [local(tmp_path)]


@pytest.fixture
def embedded_cli(tmp_path: Path) -> LookupCli:
    """The command line on an embedded data directory (it makes its key pair), user olssont."""
    runner = LookupCli(clean_env(tmp_path / "data"))
    runner.ok("user", "add", "olssont")
    return runner


def decode(token: str, public_key: str) -> dict[str, object]:
    return jwt.decode(token, public_key, algorithms=["RS256"], options={"require": ["sub"]})


def test_token_verifies_with_the_embedded_public_key(
    embedded_cli: LookupCli, tmp_path: Path
) -> None:
    before = int(time.time())
    token = embedded_cli.ok("user", "token", "olssont").stdout.strip()

    claims = decode(token, (tmp_path / "data" / PUBLIC_KEY_NAME).read_text())

    assert set(claims) == {"fresh", "iat", "jti", "type", "sub", "nbf", "exp"}
    assert claims["sub"] == "olssont"
    assert claims["type"] == "access"
    assert claims["fresh"] is False
    assert before <= claims["iat"] == claims["nbf"] <= time.time()  # type: ignore[operator]
    assert claims["exp"] == claims["iat"] + 900  # type: ignore[operator]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"


def test_the_same_key_pair_signs_every_token(embedded_cli: LookupCli, tmp_path: Path) -> None:
    first = embedded_cli.ok("user", "token", "olssont").stdout.strip()
    second = embedded_cli.ok("user", "token", "olssont").stdout.strip()
    public_key = (tmp_path / "data" / PUBLIC_KEY_NAME).read_text()
    assert decode(first, public_key)["jti"] != decode(second, public_key)["jti"]


def test_last_forever_token_has_no_expiry(embedded_cli: LookupCli, tmp_path: Path) -> None:
    token = embedded_cli.ok("user", "token", "--last-forever", "olssont").stdout.strip()
    claims = decode(token, (tmp_path / "data" / PUBLIC_KEY_NAME).read_text())
    assert "exp" not in claims


def test_expires_in_sets_the_lifetime(embedded_cli: LookupCli, tmp_path: Path) -> None:
    token = embedded_cli.ok("user", "token", "--expires-in", "60", "olssont").stdout.strip()
    claims = decode(token, (tmp_path / "data" / PUBLIC_KEY_NAME).read_text())
    assert claims["exp"] == claims["iat"] + 60  # type: ignore[operator]


def test_lifetime_comes_from_the_settings(tmp_path: Path) -> None:
    cli = LookupCli(clean_env(tmp_path, JWT_ACCESS_TOKEN_EXPIRES="3600"))
    cli.ok("user", "add", "olssont")
    token = cli.ok("user", "token", "olssont").stdout.strip()
    claims = decode(token, (tmp_path / PUBLIC_KEY_NAME).read_text())
    assert claims["exp"] == claims["iat"] + 3600  # type: ignore[operator]


def test_last_forever_and_expires_in_exclude_each_other(embedded_cli: LookupCli) -> None:
    result = embedded_cli("user", "token", "--last-forever", "--expires-in", "5", "olssont")
    assert result.exit_code == 2


def test_token_for_an_unknown_user_fails(embedded_cli: LookupCli, tmp_path: Path) -> None:
    result = embedded_cli("user", "token", "ghost")
    assert result.exit_code == 1
    assert result.stderr.strip() == "User 'ghost' not registered"
    assert result.stdout == ""


def test_configured_private_key_file_signs(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "id_rsa"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = tmp_path / "id_rsa.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
    )
    cli = LookupCli(
        clean_env(
            tmp_path / "data",
            JWT_PRIVATE_KEY_FILE=str(private),
            JWT_PUBLIC_KEY_FILE=str(public),
        )
    )
    cli.ok("user", "add", "olssont")

    token = cli.ok("user", "token", "olssont").stdout.strip()

    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert decode(token, pem.decode())["sub"] == "olssont"
    assert not (tmp_path / "data" / PRIVATE_KEY_NAME).exists()


def test_public_key_without_private_key_cannot_sign(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cli = LookupCli(clean_env(tmp_path, JWT_PUBLIC_KEY=public.decode()))
    cli.ok("user", "add", "olssont")

    result = cli("user", "token", "olssont")

    assert result.exit_code == 1
    assert "JWT_PRIVATE_KEY_FILE" in result.stderr
    assert result.stdout == ""


def test_unreadable_private_key_file_is_reported(tmp_path: Path) -> None:
    cli = LookupCli(clean_env(tmp_path, JWT_PRIVATE_KEY_FILE=str(tmp_path / "missing")))
    cli.ok("user", "add", "olssont")
    result = cli("user", "token", "olssont")
    assert result.exit_code == 1
    assert "missing" in result.stderr
