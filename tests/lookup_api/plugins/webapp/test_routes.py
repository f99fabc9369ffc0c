"""The web app's page, assets and timeline over HTTP, on every SQL backend."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import pytest
from falcon import testing

from lookup_api.plugins.webapp.resources import ASSETS_DIR, asset_names, month_of
from lookup_events.config import Settings
from lookup_events.store import Stores
from tests.support.api import Header, client_for
from tests.support.data import MR_MEN, SNOW_WHITE, load_anchor_data


@pytest.fixture
def app_client(settings: Settings, stores: Stores) -> testing.TestClient:
    """The anchor data, grumpy searching s3://snow-white only."""
    load_anchor_data(stores)
    stores.admin.set_permissions(SNOW_WHITE, search=["grumpy"], register=[])
    stores.admin.set_permissions(MR_MEN, search=["sleepy"], register=[])
    return client_for(settings, stores)


def test_the_page_is_served_at_the_root_without_a_token(app_client: testing.TestClient) -> None:
    result = app_client.simulate_get("/")
    assert result.status_code == 200
    assert result.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in result.headers["Content-Security-Policy"]
    assert 'content="token"' in result.text


def test_every_asset_the_page_and_modules_name_is_served(app_client: testing.TestClient) -> None:
    page = app_client.simulate_get("/").text
    named = set(re.findall(r"webapp/assets/([\w.-]+)", page))
    for name in asset_names():
        if name.endswith((".js", ".mjs")):
            named |= set(re.findall(r'from "\./([\w.-]+)"', (ASSETS_DIR / name).read_text()))
    assert named and named <= set(asset_names())
    for name in named:
        result = app_client.simulate_get(f"/webapp/assets/{name}")
        assert result.status_code == 200, name
        assert result.headers["X-Content-Type-Options"] == "nosniff"


def test_modules_are_served_as_javascript(app_client: testing.TestClient) -> None:
    result = app_client.simulate_get("/webapp/assets/app.js")
    assert result.headers["Content-Type"] == "text/javascript; charset=utf-8"


def test_an_unchanged_asset_answers_304(app_client: testing.TestClient) -> None:
    first = app_client.simulate_get("/webapp/assets/app.css")
    again = app_client.simulate_get(
        "/webapp/assets/app.css", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize(
    "path", ["/webapp/assets/js-yaml.LICENSE", "/webapp/assets/../resources.py", "/webapp/x.js"]
)
def test_nothing_else_of_the_package_is_served(app_client: testing.TestClient, path: str) -> None:
    result = app_client.simulate_get(path)
    assert result.status_code == 404
    assert "code" in result.json


def test_single_user_mode_tells_the_page_no_token_is_needed(
    settings: Settings, stores: Stores
) -> None:
    single = dataclasses.replace(settings, disable_jwt_authorisation=True)
    page = client_for(single, stores).simulate_get("/").text
    assert 'content="none"' in page


def test_the_app_can_be_switched_off(settings: Settings, stores: Stores) -> None:
    off = dataclasses.replace(
        settings, environ_items=(*settings.environ_items, ("DTOOL_LOOKUP_WEBAPP", "no"))
    )
    client = client_for(off, stores)
    assert client.simulate_get("/").status_code == 404
    assert client.simulate_get("/webapp/assets/app.js").status_code == 404


def test_timeline_counts_only_what_the_caller_may_search(
    app_client: testing.TestClient, auth: Header, stores: Stores
) -> None:
    expected: dict[str, int] = {}
    for record in stores.datasets.frozen_at_by_uri(SNOW_WHITE).values():
        expected[month_of(record)] = expected.get(month_of(record), 0) + 1
    result = app_client.simulate_get("/webapp/timeline", headers=auth("grumpy"))
    assert result.status_code == 200
    assert result.json == {"datasets_per_month": expected}
    assert sum(expected.values()) == 2
    other = app_client.simulate_get("/webapp/timeline", headers=auth("sleepy"))
    assert sum(other.json["datasets_per_month"].values()) == 1


def test_timeline_needs_a_registered_user(app_client: testing.TestClient, auth: Header) -> None:
    assert app_client.simulate_get("/webapp/timeline").status_code == 401
    assert app_client.simulate_get("/webapp/timeline", headers=auth("dopey")).status_code == 401


def test_month_of_is_utc() -> None:
    assert month_of(1_700_000_000) == "2023-11"
    assert month_of(0) == "1970-01"


def test_vendored_yaml_parser_is_the_recorded_copy() -> None:
    notes = (ASSETS_DIR / "VENDORED.md").read_text()
    digest = hashlib.sha256((ASSETS_DIR / "js-yaml.mjs").read_bytes()).hexdigest()
    assert digest in notes
    assert Path(ASSETS_DIR / "js-yaml.LICENSE").read_text().startswith("(The MIT License)")
