"""``/user/info`` and ``/config/*``, ported from the anchor's user and config route tests."""

from __future__ import annotations

from dataclasses import replace

from falcon import testing

from lookup_events.config import Settings
from lookup_events.store import Stores
from tests.support.api import Header, KeyPair, client_for
from tests.support.data import SNOW_WHITE, load_anchor_users


def test_own_user_info(users_client: testing.TestClient, auth: Header) -> None:
    snow_white = users_client.simulate_get("/user/info/snow-white", headers=auth("snow-white"))
    grumpy = users_client.simulate_get("/user/info/grumpy", headers=auth("grumpy"))

    assert snow_white.status_code == 200
    assert snow_white.json == {
        "username": "snow-white",
        "is_admin": True,
        "search_permissions_on_base_uris": [],
        "register_permissions_on_base_uris": [],
    }
    assert grumpy.json == {
        "username": "grumpy",
        "is_admin": False,
        "search_permissions_on_base_uris": [SNOW_WHITE],
        "register_permissions_on_base_uris": [SNOW_WHITE],
    }


def test_admin_reads_anyone(users_client: testing.TestClient, auth: Header) -> None:
    grumpy = users_client.simulate_get("/user/info/grumpy", headers=auth("snow-white"))
    nobody = users_client.simulate_get("/user/info/nobody", headers=auth("snow-white"))

    assert grumpy.json["search_permissions_on_base_uris"] == [SNOW_WHITE]
    assert nobody.status_code == 200
    assert nobody.json == {}


def test_user_info_hides_behind_404(users_client: testing.TestClient, auth: Header) -> None:
    unregistered = users_client.simulate_get("/user/info/noone", headers=auth("noone"))
    other = users_client.simulate_get("/user/info/snow-white", headers=auth("grumpy"))

    assert unregistered.status_code == 404
    assert other.status_code == 404
    assert other.json["status"] == "Not Found"


def test_config_info(users_client: testing.TestClient, auth: Header, keys: KeyPair) -> None:
    result = users_client.simulate_get("/config/info", headers=auth("snow-white"))

    assert result.status_code == 200
    config = result.json
    assert config["jwt_algorithm"] == "RS256"
    assert config["jwt_header_name"] == "Authorization"
    assert config["jwt_header_type"] == "Bearer"
    assert config["jwt_token_location"] == "headers"
    assert config["sqlalchemy_track_modifications"] is False
    assert config["jwt_public_key"] == keys.public_pem
    assert config["database_url"] == "***"
    assert config["cors_expose_headers"] == ["X-Pagination", "X-Sort"]
    assert all(key == key.lower() for key in config)


def test_config_info_for_any_registered_user(
    users_client: testing.TestClient, auth: Header
) -> None:
    for user in ("snow-white", "grumpy", "sleepy"):
        assert users_client.simulate_get("/config/info", headers=auth(user)).status_code == 200
    assert users_client.simulate_get("/config/info", headers=auth("noone")).status_code == 401


def test_config_info_hides_the_private_key(
    settings: Settings, stores: Stores, auth: Header, keys: KeyPair
) -> None:
    load_anchor_users(stores)
    client = client_for(replace(settings, jwt_private_key=keys.private_pem), stores)

    result = client.simulate_get("/config/info", headers=auth("grumpy"))

    assert result.json["jwt_private_key"] == "***"
    assert keys.private_pem not in result.text


def test_versions_need_no_token(client: testing.TestClient) -> None:
    result = client.simulate_get("/config/versions")

    assert result.status_code == 200
    assert result.json["dtool_lookup_server"] == "0.18.0"
    assert "dtoolcore" in result.json
    assert "dtool_lookup" in result.json
