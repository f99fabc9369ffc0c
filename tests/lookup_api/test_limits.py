"""Body limits: 413 in the JSON envelope, declared or chunked, on both API generations."""

from __future__ import annotations

import http.client
import json
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from falcon import testing

from lookup_api.limits import MAX_BODY_BYTES
from lookup_events.config import Settings
from lookup_events.store import Stores
from tests.support.api import Header, client_for
from tests.support.data import BAD_APPLES_UUID, SNOW_WHITE, load_anchor_users, register_body

REGISTER_URI = f"{SNOW_WHITE}/{BAD_APPLES_UUID}"
DSERVER_REGISTER = f"/uris/{REGISTER_URI.replace('://', '/')}"


def padded_register_body(size: int) -> bytes:
    """Return a valid register body of exactly ``size`` bytes (a long README)."""
    body = register_body()
    body["readme"] = ""
    short = len(json.dumps(body).encode())
    body["readme"] = "x" * (size - short)
    encoded = json.dumps(body).encode()
    assert len(encoded) == size
    return encoded


@pytest.fixture
def small_limit_client(settings: Settings, stores: Stores) -> testing.TestClient:
    """Users and s3://snow-white, with a 4,000-byte register limit."""
    load_anchor_users(stores)
    return client_for(replace(settings, max_register_bytes=4000), stores)


def register(client: testing.TestClient, route: str, body: bytes, auth: Header) -> testing.Result:
    """Send a register body to the 0.18 (POST) or dserver (PUT) register route."""
    method = "PUT" if route.startswith("/uris/") else "POST"
    headers = {**auth("grumpy"), "Content-Type": "application/json"}
    return client.simulate_request(method, route, body=body, headers=headers)


@pytest.mark.parametrize("route", ["/dataset/register", DSERVER_REGISTER])
def test_register_bodies_up_to_the_setting_are_stored_larger_ones_refused(
    small_limit_client: testing.TestClient, auth: Header, route: str
) -> None:
    refused = register(small_limit_client, route, padded_register_body(4001), auth)
    accepted = register(small_limit_client, route, padded_register_body(4000), auth)

    assert refused.status_code == 413
    assert refused.json["code"] == 413
    assert refused.json["status"] == "Request Entity Too Large"
    assert "4000 bytes" in refused.json["message"]
    assert accepted.status_code == 201
    readme = small_limit_client.simulate_get(
        f"/readmes/{REGISTER_URI.replace('://', '/')}", headers=auth("grumpy")
    )
    assert len(readme.json["readme"]) > 3000


def test_default_register_limit_is_16_mib(users_client: testing.TestClient, auth: Header) -> None:
    over = padded_register_body(16 * 1024 * 1024 + 1)

    result = register(users_client, "/dataset/register", over, auth)

    assert result.status_code == 413
    assert str(16 * 1024 * 1024) in result.json["message"]


@pytest.mark.parametrize(
    ("method", "route"),
    [("POST", "/dataset/search"), ("POST", "/uris"), ("POST", "/admin/user/register")],
)
def test_other_bodies_are_limited_to_one_mib(
    users_client: testing.TestClient, auth: Header, method: str, route: str
) -> None:
    big = json.dumps({"free_text": "word " * (MAX_BODY_BYTES // 5)}).encode()
    headers = {**auth("snow-white"), "Content-Type": "application/json"}

    result = users_client.simulate_request(method, route, body=big, headers=headers)

    assert len(big) > MAX_BODY_BYTES
    assert result.status_code == 413
    assert result.json["code"] == 413


def chunked(url: str, method: str, path: str, body: bytes, token: str) -> tuple[int, bytes]:
    """Send ``body`` chunked (no Content-Length) over real HTTP; return status and body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        pieces = iter(body[i : i + 65536] for i in range(0, len(body), 65536))
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        connection.request(method, path, body=pieces, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.slow  # a real gunicorn: only a real server sends a chunked body as chunked
def test_chunked_bodies_are_read_and_counted(server_url: str, tokens: dict[str, str]) -> None:
    served = server_url  # the anchor data behind a real gunicorn
    search = json.dumps({"free_text": "apples"}).encode()
    huge_search = json.dumps({"free_text": "apples " * (MAX_BODY_BYTES // 7 + 1)}).encode()
    huge_register = padded_register_body(16 * 1024 * 1024 + 1)

    found, found_body = chunked(served, "POST", "/dataset/search", search, tokens["grumpy"])
    too_big, too_big_body = chunked(served, "POST", "/uris", huge_search, tokens["grumpy"])
    too_big_register, _ = chunked(
        served, "POST", "/dataset/register", huge_register, tokens["grumpy"]
    )

    assert found == 200
    assert {item["name"] for item in json.loads(found_body)} == {"bad-apples"}
    assert too_big == 413
    assert json.loads(too_big_body)["code"] == 413
    assert too_big_register == 413
