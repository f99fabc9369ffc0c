"""Tokens as clients of 0.18 send them: the full acceptance and refusal matrix."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import jwt
import pytest
from falcon import testing

from lookup_events.config import Settings
from lookup_events.store import Stores
from tests.support.api import KeyPair, client_for
from tests.support.data import load_anchor_data

PROBE = "/dataset/list"


def signed(keys: KeyPair, claims: dict[str, Any], algorithm: str = "RS256") -> str:
    return jwt.encode(claims, keys.private_pem, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get(client: testing.TestClient, headers: dict[str, str] | None = None) -> testing.Result:
    return client.simulate_get(PROBE, headers=headers or {})


@pytest.fixture
def anchor_stores(sqlite_stores: Stores) -> Stores:
    load_anchor_data(sqlite_stores)
    return sqlite_stores


def test_refusals_carry_flask_jwt_extended_statuses_and_texts(
    sqlite_data_client: testing.TestClient, keys: KeyPair, other_keys: KeyPair
) -> None:
    now = int(time.time())
    expected = "Expected 'Authorization: Bearer <JWT>'"
    cases: list[tuple[dict[str, str], int, str]] = [
        ({}, 401, "Missing Authorization Header"),
        ({"Authorization": ""}, 401, "Missing Authorization Header"),
        (
            {"Authorization": f"Token {signed(keys, {'sub': 'grumpy'})}"},
            401,
            f"Missing 'Bearer' type in 'Authorization' header. {expected}",
        ),
        ({"Authorization": "Bearer"}, 422, f"Bad Authorization header. {expected}"),
        ({"Authorization": "Bearer "}, 422, f"Bad Authorization header. {expected}"),
        ({"Authorization": "Bearer a b"}, 422, f"Bad Authorization header. {expected}"),
        (bearer("abc"), 422, "Not enough segments"),
        (bearer(signed(other_keys, {"sub": "grumpy"})), 422, "Signature verification failed"),
        (
            bearer(jwt.encode({"sub": "grumpy"}, "a-shared-secret-of-32-bytes-long!", "HS256")),
            422,
            "The specified alg value is not allowed",
        ),
        (bearer(signed(keys, {"sub": "grumpy", "exp": now - 60})), 401, "Token has expired"),
        (
            bearer(signed(keys, {"sub": "grumpy", "nbf": now + 3600})),
            422,
            "The token is not yet valid (nbf)",
        ),
        (bearer(signed(keys, {"identity": "grumpy"})), 422, "Missing claim: sub"),
        (
            bearer(signed(keys, {"sub": "grumpy", "type": "refresh"})),
            422,
            "Only non-refresh tokens are allowed",
        ),
    ]
    for headers, status, msg in cases:
        result = get(sqlite_data_client, headers)
        assert result.status_code == status, headers
        assert result.json["msg"] == msg
        assert result.json["code"] == status
        assert result.headers["Content-Type"].startswith("application/json")


def test_garbage_token_reports_the_decoder_text(
    sqlite_data_client: testing.TestClient,
) -> None:
    result = get(sqlite_data_client, bearer("bm90.e30.c2ln"))  # header is "not"

    assert result.status_code == 422
    assert result.json["msg"].startswith("Invalid header string")


def test_accepted_token_shapes(sqlite_data_client: testing.TestClient, keys: KeyPair) -> None:
    now = int(time.time())
    accepted: list[dict[str, Any]] = [
        {"sub": "grumpy"},
        {"sub": "grumpy", "iat": now, "exp": now + 60, "fresh": True},
        {"sub": "grumpy", "type": "access", "jti": "x", "nbf": now, "fresh": False},
        {"sub": "grumpy", "aud": "somewhere-else", "iss": "some-issuer"},
    ]
    for claims in accepted:
        result = get(sqlite_data_client, bearer(signed(keys, claims)))
        assert result.status_code == 200, claims
        assert len(result.json) == 3


def test_bearer_among_other_credentials(
    sqlite_data_client: testing.TestClient, keys: KeyPair
) -> None:
    header = f"Basic Zm9vOmJhcg==, Bearer {signed(keys, {'sub': 'grumpy'})}"

    assert get(sqlite_data_client, {"Authorization": header}).status_code == 200


def test_non_string_subject_is_an_unknown_user(
    sqlite_data_client: testing.TestClient, keys: KeyPair
) -> None:
    for subject in (5, ["grumpy"], {"name": "grumpy"}, None):
        result = get(sqlite_data_client, bearer(signed(keys, {"sub": subject})))
        assert result.status_code == 401, subject
        assert result.json == {
            "code": 401,
            "status": "Unauthorized",
            "message": f"user {subject!r} is not registered",
        }


def test_ssh_rsa_public_key(settings: Settings, anchor_stores: Stores, keys: KeyPair) -> None:
    client = client_for(replace(settings, jwt_public_key=keys.public_ssh), anchor_stores)

    result = get(client, bearer(signed(keys, {"sub": "grumpy"})))

    assert result.status_code == 200


def test_leeway_accepts_recently_expired_tokens(
    settings: Settings, anchor_stores: Stores, keys: KeyPair
) -> None:
    token = signed(keys, {"sub": "grumpy", "exp": int(time.time()) - 5})
    lenient = client_for(replace(settings, jwt_leeway=30), anchor_stores)
    strict = client_for(settings, anchor_stores)

    assert get(lenient, bearer(token)).status_code == 200
    assert get(strict, bearer(token)).status_code == 401


@pytest.mark.parametrize("public_key", ["", "   \n", "not a key", "ssh-rsa AAAAnotbase64"])
def test_unusable_public_key_refuses_clearly(
    settings: Settings,
    anchor_stores: Stores,
    keys: KeyPair,
    public_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="lookup_api.auth"):
        client = client_for(replace(settings, jwt_public_key=public_key), anchor_stores)
        result = get(client, bearer(signed(keys, {"sub": "grumpy"})))
        versions = client.simulate_get("/config/versions")

    assert result.status_code == 401
    assert "public key" in result.json["msg"]
    assert versions.status_code == 200
    assert any("public key" in record.getMessage().lower() for record in caplog.records)


def test_disabled_authorisation_acts_as_the_default_user(
    settings: Settings, anchor_stores: Stores
) -> None:
    client = client_for(
        replace(settings, disable_jwt_authorisation=True, default_user="grumpy"), anchor_stores
    )

    result = get(client)

    assert result.status_code == 200
    assert len(result.json) == 3


@pytest.mark.slow
def test_cached_token_still_expires(sqlite_data_client: testing.TestClient, keys: KeyPair) -> None:
    expires = int(time.time()) + 2
    token = signed(keys, {"sub": "grumpy", "exp": expires})

    assert get(sqlite_data_client, bearer(token)).status_code == 200
    assert get(sqlite_data_client, bearer(token)).status_code == 200
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    result = get(sqlite_data_client, bearer(token))

    assert result.status_code == 401
    assert result.json["msg"] == "Token has expired"
