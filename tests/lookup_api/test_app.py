"""The composed app: its route table, JSON for every error, and CORS."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from falcon import testing

from lookup_api.app import create_app
from lookup_events.config import Settings
from lookup_events.store import open_stores
from tests.support.api import Header

LEGACY_ROUTES = {
    ("GET", "/config/info"),
    ("GET", "/config/versions"),
    ("GET", "/dataset/summary"),
    ("GET", "/dataset/list"),
    ("GET", "/dataset/lookup/{uuid}"),
    ("POST", "/dataset/search"),
    ("POST", "/dataset/register"),
    ("POST", "/dataset/readme"),
    ("POST", "/dataset/manifest"),
    ("POST", "/dataset/annotations"),
    ("GET", "/user/info/{username}"),
    ("POST", "/admin/user/register"),
    ("GET", "/admin/user/list"),
    ("POST", "/admin/base_uri/register"),
    ("GET", "/admin/base_uri/list"),
    ("POST", "/admin/permission/info"),
    ("POST", "/admin/permission/update_on_base_uri"),
}


def test_every_legacy_route_answers_its_method_and_only_it(
    client: testing.TestClient, auth: Header
) -> None:
    assert len(LEGACY_ROUTES) == 17
    for method, template in LEGACY_ROUTES:
        path = template.replace("{uuid}", "x").replace("{username}", "x")
        wrong = "POST" if method == "GET" else "GET"
        right = client.simulate_request(method, path, json={}, headers=auth("nobody"))
        other = client.simulate_request(wrong, path, headers=auth("nobody"))
        assert right.status_code != 405, (method, path)
        assert right.headers["Content-Type"].startswith("application/json")
        assert other.status_code == 405, (wrong, path)
        assert other.json == {"code": 405, "status": "Method Not Allowed"}
        assert method in other.headers["Allow"]


def test_unknown_paths_are_json_404(client: testing.TestClient, auth: Header) -> None:
    # NOTE(webapp): "/" is the web app now (tests/lookup_api/plugins/webapp).
    for path in ("/dataset", "/dataset/list/", "/nothing/here", "/doc/nonsense", "/webapp/x.js"):
        result = client.simulate_get(path, headers=auth("grumpy"))
        assert result.status_code == 404, path
        assert result.json == {"code": 404, "status": "Not Found"}
        assert result.headers["Content-Type"].startswith("application/json")


def test_errors_are_json_whatever_the_client_accepts(client: testing.TestClient) -> None:
    result = client.simulate_get("/dataset/list", headers={"Accept": "text/html"})

    assert result.status_code == 401
    assert result.headers["Content-Type"].startswith("application/json")
    assert result.json["msg"] == "Missing Authorization Header"


def test_cors_preflight_from_any_origin(client: testing.TestClient) -> None:
    result = client.simulate_options(
        "/dataset/search",
        headers={
            "Origin": "https://webapp.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )

    assert result.status_code == 200
    assert result.headers["Access-Control-Allow-Origin"] in ("*", "https://webapp.example.org")
    assert "POST" in result.headers["Access-Control-Allow-Methods"]
    allowed = result.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed


def test_cors_exposes_the_pagination_header(data_client: testing.TestClient, auth: Header) -> None:
    headers = {"Origin": "https://webapp.example.org", **auth("grumpy")}

    result = data_client.simulate_get("/dataset/list", headers=headers)

    assert result.headers["Access-Control-Allow-Origin"] in ("*", "https://webapp.example.org")
    assert "X-Pagination" in result.headers["Access-Control-Expose-Headers"]


def test_unreachable_database_is_503_without_details(
    settings: Settings, auth: Header, caplog: pytest.LogCaptureFixture
) -> None:
    url = "postgresql+psycopg://secret-user:secret-password@127.0.0.1:1/nowhere"
    down = replace(settings, database_url=url, dataset_store_url=url)
    stores = open_stores(down)
    try:
        client = testing.TestClient(create_app(down, stores))
        with caplog.at_level(logging.ERROR, logger="lookup_api.errors"):
            result = client.simulate_get("/dataset/list", headers=auth("grumpy"))
    finally:
        stores.close()

    assert result.status_code == 503
    assert result.json == {"code": 503, "status": "Service Unavailable"}
    assert "secret" not in result.text
    assert caplog.records
