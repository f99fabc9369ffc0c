"""``/config/*`` for both generations, the health check, and the JWT bypass on dserver routes."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from falcon import testing

from lookup_api.app import create_app
from lookup_events.config import Settings
from lookup_events.store import Stores
from tests.support.api import Header, KeyPair
from tests.support.data import load_anchor_data


def test_config_info_serves_both_generations(
    users_client: testing.TestClient, auth: Header, keys: KeyPair
) -> None:
    result = users_client.simulate_get("/config/info", headers=auth("grumpy"))

    body = result.json
    config = body.pop("config")
    assert result.status_code == 200
    assert config == body  # dserver reads ["config"], 0.18 clients read the flat keys
    assert config["jwt_public_key"] == keys.public_pem
    assert config["database_url"] == "***"
    assert users_client.simulate_get("/config/info", headers=auth("noone")).status_code == 401


def test_config_versions_serve_both_generations(client: testing.TestClient) -> None:
    result = client.simulate_get("/config/versions")

    body = result.json
    versions = body.pop("versions")
    assert result.status_code == 200
    assert body["dtool_lookup_server"] == "0.18.0"
    assert versions == {**body, "dservercore": "0.22.0"}


def test_health_needs_no_token(client: testing.TestClient) -> None:
    result = client.simulate_get("/config/health")

    assert result.status_code == 200
    assert result.json == {"status": "healthy"}


def test_health_reports_an_unreachable_database(settings: Settings) -> None:
    from lookup_events.store import open_stores

    url = "postgresql+psycopg://nobody@127.0.0.1:1/nowhere"
    down = replace(settings, database_url=url, dataset_store_url=url)
    stores = open_stores(down)
    try:
        result = testing.TestClient(create_app(down, stores)).simulate_get("/config/health")
    finally:
        stores.close()

    assert result.status_code == 503
    assert result.json == {"code": 503, "status": "Service Unavailable"}


def test_jwt_bypass_is_off_by_default(settings: Settings, client: testing.TestClient) -> None:
    assert settings.disable_jwt_authorisation is False
    assert client.simulate_get("/me").status_code == 401


def test_jwt_bypass_acts_as_the_default_user_and_warns(
    settings: Settings, sqlite_stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    load_anchor_data(sqlite_stores)
    bypass = replace(settings, disable_jwt_authorisation=True, default_user="grumpy")
    with caplog.at_level(logging.WARNING, logger="lookup_api.app"):
        client = testing.TestClient(create_app(bypass, sqlite_stores))
    unknown = testing.TestClient(
        create_app(replace(bypass, default_user="testuser"), sqlite_stores)
    )

    assert any("DISABLE_JWT_AUTHORISATION" in r.message for r in caplog.records)
    assert client.simulate_get("/me").json["username"] == "grumpy"
    assert len(client.simulate_get("/uris").json) == 3
    assert client.simulate_get("/users").status_code == 403  # grumpy is no admin
    assert client.simulate_get("/me", headers={"Authorization": "Bearer junk"}).status_code == 200
    assert unknown.simulate_get("/me").status_code == 401
