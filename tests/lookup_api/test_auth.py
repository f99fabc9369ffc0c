"""Tokens as clients of 0.18 send them: the full acceptance and refusal matrix."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from typing import Any

import hypothesis
import jwt
import pytest
from falcon import testing
from hypothesis import strategies as st

from lookup_api import auth
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


ODD_CLAIMS: list[dict[str, Any]] = [
    {"sub": "grumpy\x00"},
    {"sub": "\ud800grumpy"},
    {"sub": "g" * 256},
    {"sub": "grumpy", "exp": 2**1100},
    {"sub": "grumpy", "nbf": -(2**1100)},
    {"sub": "grumpy", "iat": 2**64},
    {"sub": "grumpy", "exp": float("inf")},
    {"sub": "grumpy", "exp": float("nan")},
    {"sub": "grumpy", "iat": float("-inf")},
    {"sub": "grumpy", "iat": "yesterday"},
    {"sub": "grumpy", "exp": None},
    {"sub": "grumpy", "nbf": True},
    {"sub": "grumpy", "type": ["access"]},
]


@pytest.mark.parametrize("claims", ODD_CLAIMS, ids=repr)
def test_odd_claims_are_refused_with_each_generations_status(
    stores: Stores, settings: Settings, keys: KeyPair, claims: dict[str, Any]
) -> None:
    load_anchor_data(stores)
    client = client_for(settings, stores)
    token = bearer(signed(keys, claims))

    legacy = client.simulate_get("/dataset/list", headers=token)
    dserver = client.simulate_get("/me", headers=token)

    # NOTE(dev): what PyJWT refuses itself (an iat in the future) stays 422 on both.
    assert legacy.status_code == 422, legacy.json
    assert legacy.json["msg"]
    assert dserver.status_code in (401, 422), dserver.json
    assert dserver.json["msg"]


def test_claims_at_the_edges_of_the_ranges_are_accepted(
    sqlite_data_client: testing.TestClient, keys: KeyPair
) -> None:
    now = int(time.time())
    for claims in (
        {"sub": "grumpy", "exp": 253_402_300_799, "iat": 0, "nbf": 0.5},
        {"sub": "grumpy", "iat": now + 0.25, "exp": float(now + 60)},
    ):
        assert get(sqlite_data_client, bearer(signed(keys, claims))).status_code == 200, claims


TIME_VALUES = st.one_of(
    st.integers(),
    st.integers(min_value=2**53, max_value=2**2000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
SUBJECTS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec=None, categories=("Cs", "Cc")), max_size=5),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(),
    st.none(),
    st.just("grumpy"),
)
CLAIMS = st.fixed_dictionaries(
    {"sub": SUBJECTS},
    optional={
        "exp": TIME_VALUES,
        "nbf": TIME_VALUES,
        "iat": TIME_VALUES,
        "type": st.one_of(st.text(max_size=8), st.integers(), st.none()),
        "jti": st.one_of(st.text(max_size=8), st.integers()),
    },
)


@hypothesis.settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(claims=CLAIMS)
def test_correctly_signed_tokens_with_any_claims_never_give_500(
    data_client: testing.TestClient, keys: KeyPair, claims: dict[str, Any]
) -> None:
    token = bearer(signed(keys, claims))

    for path in ("/dataset/list", "/me", "/uris"):
        result = data_client.simulate_get(path, headers=token)
        assert result.status_code in (200, 401, 422), (path, claims, result.text)
        if result.status_code != 200:
            assert result.json["code"] == result.status_code


def test_a_cached_token_vouches_for_no_tampered_copy(
    sqlite_data_client: testing.TestClient, keys: KeyPair
) -> None:
    token = signed(keys, {"sub": "sleepy", "exp": int(time.time()) + 600})
    assert get(sqlite_data_client, bearer(token)).status_code == 200  # verified, now cached
    header, payload, signature = token.split(".")
    as_admin = signed(keys, {"sub": "snow-white", "exp": int(time.time()) + 600}).split(".")[1]
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    forged = [
        f"{header}.{as_admin}.{signature}",  # someone else's claims under this signature
        f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}",
        f"{header}.{payload}.",
    ]

    for copy in forged:
        result = get(sqlite_data_client, bearer(copy))
        assert result.status_code == 422, copy
        assert result.json["msg"] == "Signature verification failed"
    assert get(sqlite_data_client, bearer(token)).status_code == 200


def general_parse(header: str) -> str | None:
    """What the long way makes of a ``Bearer <token>`` header (None when it refuses)."""
    fields = [field.split() for field in re.split(r",\s*", header.strip().strip(","))]
    bearer = [field for field in fields if field and field[0] == "Bearer"]
    return bearer[0][1] if len(bearer) == 1 and len(bearer[0]) == 2 else None


@hypothesis.given(token=st.text(min_size=1, max_size=40))
def test_the_usual_headers_shortcut_agrees_with_the_general_parse(token: str) -> None:
    header = f"Bearer {token}"
    shortcut = auth._plain_bearer(header)
    if shortcut is not None:
        assert shortcut == general_parse(header) == token
