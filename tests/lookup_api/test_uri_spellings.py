"""Every route takes every spelling of a base URI or dataset URI, as the stores normalise it.

A base URI an old server stored as ``file:///path`` is migrated as
``file://<host>/path``; scripts that kept the old spelling (or add a trailing
slash, or send the bare path) must keep working on every route, on both
generations, on SQLite and PostgreSQL, and never create a second record.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import quote

import pytest
from falcon import testing

from lookup_events.config import Settings
from lookup_events.model import record_from_info
from lookup_events.store import Stores
from tests.support.api import Header, client_for
from tests.support.data import make_info

HOST = socket.gethostname()
PATH = "/srv/lookup-spellings"
CANONICAL = f"file://{HOST}{PATH}"
SPELLINGS = [
    f"file://{PATH}",  # file:///srv/...: what 0.18 servers stored
    CANONICAL,
    f"{CANONICAL}/",
    f"file://{PATH}//",
    PATH,
    f"{PATH}/",
]
INFO = make_info(0, CANONICAL)
UUID = INFO["uuid"]
DATASET = f"{CANONICAL}/{UUID}"


def dataset_uri(base_spelling: str) -> str:
    """Return the dataset's URI spelled under ``base_spelling``."""
    return f"{base_spelling.rstrip('/')}/{UUID}"


def in_path(uri: str) -> str:
    """Return ``uri`` percent-encoded for a URL path."""
    return quote(uri, safe="")


def spelled_info(base_spelling: str) -> dict[str, Any]:
    """Return the dataset's info with both URIs in ``base_spelling``."""
    return {**INFO, "base_uri": base_spelling, "uri": dataset_uri(base_spelling)}


@pytest.fixture
def spelled_client(settings: Settings, stores: Stores) -> testing.TestClient:
    """An admin, grumpy (search and register on the base URI) and sleepy, no datasets."""
    stores.admin.add_user("admin", True)
    stores.admin.add_user("grumpy", False)
    stores.admin.add_user("sleepy", False)
    stores.admin.add_base_uri(CANONICAL)
    stores.admin.set_permissions(CANONICAL, search=["grumpy"], register=["grumpy"])
    return client_for(settings, stores)


@pytest.fixture
def registered(spelled_client: testing.TestClient, stores: Stores) -> testing.TestClient:
    """The same, with the dataset registered under its canonical URI."""
    stores.datasets.upsert(record_from_info(INFO))
    return spelled_client


def listed_uris(client: testing.TestClient, auth: Header) -> list[str]:
    """Return the URIs ``/dataset/list`` shows grumpy."""
    return [
        item["uri"] for item in client.simulate_get("/dataset/list", headers=auth("grumpy")).json
    ]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_register_routes_store_one_record_under_the_stored_spelling(
    spelled_client: testing.TestClient, auth: Header, spelling: str
) -> None:
    grumpy = auth("grumpy")
    info = spelled_info(spelling)

    legacy = spelled_client.simulate_post("/dataset/register", json=info, headers=grumpy)
    path = f"/uris/{in_path(dataset_uri(spelling))}"
    dserver = spelled_client.simulate_put(path, json=info, headers=grumpy)

    assert legacy.status_code == 201, legacy.json
    assert legacy.json == {"uri": DATASET}
    assert dserver.status_code == 200, dserver.json
    assert dserver.json["uri"] == DATASET
    assert dserver.json["base_uri"] == CANONICAL
    assert listed_uris(spelled_client, auth) == [DATASET]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_read_routes_find_the_dataset_by_any_spelling(
    registered: testing.TestClient, auth: Header, spelling: str
) -> None:
    grumpy = auth("grumpy")
    uri = dataset_uri(spelling)

    for route in ("/dataset/readme", "/dataset/manifest", "/dataset/annotations"):
        result = registered.simulate_post(route, json={"uri": uri}, headers=grumpy)
        assert result.status_code == 200, (route, result.json)
    for route in ("/uris", "/readmes", "/manifests", "/annotations", "/tags"):
        result = registered.simulate_get(f"{route}/{in_path(uri)}", headers=grumpy)
        assert result.status_code == 200, (route, result.json)
    searches = [
        registered.simulate_post(
            "/dataset/search", json={"base_uris": [spelling]}, headers=grumpy
        ),
        registered.simulate_post("/uris", json={"base_uris": [spelling]}, headers=grumpy),
        registered.simulate_get("/uris", params={"base_uris": spelling}, headers=grumpy),
    ]
    for result in searches:
        assert result.status_code == 200
        assert [item["uri"] for item in result.json] == [DATASET]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_admin_routes_name_the_one_base_uri_by_any_spelling(
    registered: testing.TestClient, auth: Header, spelling: str
) -> None:
    admin = auth("admin")
    path = in_path(spelling)

    info = registered.simulate_post(
        "/admin/permission/info", json={"base_uri": spelling}, headers=admin
    )
    again = registered.simulate_post(
        "/admin/base_uri/register", json={"base_uri": spelling}, headers=admin
    )
    dserver = registered.simulate_get(f"/base-uris/{path}", headers=admin)
    granted = registered.simulate_post(f"/users/sleepy/search/{path}", headers=admin)
    granted_again = registered.simulate_post(f"/users/sleepy/search/{path}", headers=admin)
    base_uris = registered.simulate_get("/admin/base_uri/list", headers=admin)

    assert info.status_code == 200
    assert info.json["base_uri"] == CANONICAL
    assert again.status_code == 201
    assert dserver.status_code == 200
    assert dserver.json["users_with_search_permissions"] == ["grumpy"]
    assert granted.status_code == 201, granted.json
    assert granted.json["search_permissions_on_base_uris"] == [CANONICAL]
    assert granted_again.status_code == 200
    assert base_uris.json == [{"base_uri": CANONICAL}]
    assert [
        item["uri"] for item in registered.simulate_get("/uris", headers=auth("sleepy")).json
    ] == [DATASET]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_permission_update_and_delete_name_the_stored_records(
    registered: testing.TestClient, auth: Header, spelling: str
) -> None:
    admin = auth("admin")
    body = {
        "base_uri": spelling,
        "users_with_search_permissions": ["grumpy", "sleepy"],
        "users_with_register_permissions": ["grumpy"],
    }

    updated = registered.simulate_post(
        "/admin/permission/update_on_base_uri", json=body, headers=admin
    )
    sleepy_sees = registered.simulate_get("/dataset/list", headers=auth("sleepy"))
    deleted = registered.simulate_delete(
        f"/uris/{in_path(dataset_uri(spelling))}", headers=auth("grumpy")
    )

    assert updated.status_code == 201
    assert [item["uri"] for item in sleepy_sees.json] == [DATASET]
    assert deleted.status_code == 200
    assert listed_uris(registered, auth) == []


UNPARSABLE = "s3://[bucket"  # an unclosed IPv6 host: urlsplit raises


def test_text_no_parser_reads_as_a_uri_is_422_on_every_route(
    registered: testing.TestClient, auth: Header
) -> None:
    admin, grumpy = auth("admin"), auth("grumpy")
    bad_dataset = f"{UNPARSABLE}/{UUID}"
    requests: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("POST", "/dataset/register", {"json": spelled_info(UNPARSABLE)}, grumpy),
        ("POST", "/dataset/readme", {"json": {"uri": bad_dataset}}, grumpy),
        ("POST", "/dataset/search", {"json": {"base_uris": [UNPARSABLE]}}, grumpy),
        ("POST", "/uris", {"json": {"base_uris": [UNPARSABLE]}}, grumpy),
        ("GET", "/uris", {"params": {"base_uris": UNPARSABLE}}, grumpy),
        ("GET", f"/uris/{in_path(bad_dataset)}", {}, grumpy),
        ("PUT", f"/uris/{in_path(bad_dataset)}", {"json": spelled_info(UNPARSABLE)}, grumpy),
        ("GET", f"/manifests/{in_path(bad_dataset)}", {}, grumpy),
        ("POST", "/admin/base_uri/register", {"json": {"base_uri": UNPARSABLE}}, admin),
        ("POST", "/admin/permission/info", {"json": {"base_uri": UNPARSABLE}}, admin),
        ("PUT", f"/base-uris/{in_path(UNPARSABLE)}", {"json": {}}, admin),
        ("POST", f"/users/sleepy/search/{in_path(UNPARSABLE)}", {}, admin),
    ]
    for method, path, extra, headers in requests:
        result = registered.simulate_request(method, path, headers=headers, **extra)
        assert result.status_code == 422, (method, path, result.text)
        assert "is not a URI" in result.json["message"]
    assert registered.simulate_get("/admin/base_uri/list", headers=admin).json == [
        {"base_uri": CANONICAL}
    ]
