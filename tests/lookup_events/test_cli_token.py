"""``dtool-lookup user token``: tokens that verify with the public key."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lookup_events.keys import PRIVATE_KEY_NAME, PUBLIC_KEY_NAME
from tests.support.cli_runner import LookupCli, clean_env


@pytest.fixture
def cli(tmp_path: Path) -> LookupCli:
    runner = LookupCli(clean_env(tmp_path / "data"))
    runner.ok("user", "add", "olssont")
    return runner


def decode(token: str, public_key: str) -> dict[str, object]:
    return jwt.decode(token, public_key, algorithms=["RS256"], options={"require": ["sub"]})


def test_token_verifies_with_the_embedded_public_key(cli: LookupCli, tmp_path: Path) -> None:
    before = int(time.time())
    token = cli.ok("user", "token", "olssont").stdout.strip()

    claims = decode(token, (tmp_path / "data" / PUBLIC_KEY_NAME).read_text())

    assert set(claims) == {"fresh", "iat", "jti", "type", "sub", "nbf", "exp"}
    assert claims["sub"] == "olssont"
    assert claims["type"] == "access"
    assert claims["fresh"] is False
    assert before <= claims["iat"] == claims["nbf"] <= time.time()  # type: ignore[operator]
    assert claims["exp"] == claims["iat"] + 900  # type: ignore[operator]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"


def test_the_same_key_pair_signs_every_token(cli: LookupCli, tmp_path: Path) -> None:
    first = cli.ok("user", "token", "olssont").stdout.strip()
    second = cli.ok("user", "token", "olssont").stdout.strip()
    public_key = (tmp_path / "data" / PUBLIC_KEY_NAME).read_text()
    assert decode(first, public_key)["jti"] != decode(second, public_key)["jti"]


def test_last_forever_token_has_no_expiry(cli: LookupCli, tmp_path: Path) -> None:
    token = cli.ok("user", "token", "--last-forever", "olssont").stdout.strip()
    claims = decode(token, (tmp_path / "data" / PUBLIC_KEY_NAME).read_text())
    assert "exp" not in claims


def test_expires_in_sets_the_lifetime(cli: LookupCli, tmp_path: Path) -> None:
    token = cli.ok("user", "token", "--expires-in", "60", "olssont").stdout.strip()
    claims = decode(token, (tmp_path / "data" / PUBLIC_KEY_NAME).read_text())
    assert claims["exp"] == claims["iat"] + 60  # type: ignore[operator]


def test_lifetime_comes_from_the_settings(tmp_path: Path) -> None:
    cli = LookupCli(clean_env(tmp_path, JWT_ACCESS_TOKEN_EXPIRES="3600"))
    cli.ok("user", "add", "olssont")
    token = cli.ok("user", "token", "olssont").stdout.strip()
    claims = decode(token, (tmp_path / PUBLIC_KEY_NAME).read_text())
    assert claims["exp"] == claims["iat"] + 3600  # type: ignore[operator]


def test_last_forever_and_expires_in_exclude_each_other(cli: LookupCli) -> None:
    result = cli("user", "token", "--last-forever", "--expires-in", "5", "olssont")
    assert result.exit_code == 2


def test_token_for_an_unknown_user_fails(cli: LookupCli, tmp_path: Path) -> None:
    result = cli("user", "token", "ghost")
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
