"""The dependency-graph plugin's routes over HTTP, on every SQL backend.

The family of ``tests/support/graphs.py``: parent and child in s3://snow-white,
a grandchild of the child in s3://mr-men, and a dataset naming the parent
under another key. grumpy may search both base URIs, sleepy only s3://mr-men.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from falcon import testing

from lookup_events.config import Settings
from lookup_events.store import Stores
from tests.support.api import Header, client_for
from tests.support.data import MR_MEN
from tests.support.graphs import CHILD, GRANDCHILD, LONER, PARENT, load_family

ROUTES = ("/graph/lookup", "/graph/uuids")


def with_env(settings: Settings, **environ: str) -> Settings:
    """Return ``settings`` seeing ``environ`` (what plugins read their settings from)."""
    return dataclasses.replace(settings, environ_items=tuple(environ.items()))


@pytest.fixture
def graph_client(settings: Settings, stores: Stores) -> testing.TestClient:
    """The family behind the default settings."""
    load_family(stores)
    return client_for(settings, stores)


def uuids(result: testing.Result) -> list[str]:
    assert result.status_code == 200, result.json
    return [item["uuid"] for item in result.json]


@pytest.mark.parametrize("route", ROUTES)
def test_get_walks_the_default_keys_both_ways(
    graph_client: testing.TestClient, auth: Header, route: str
) -> None:
    result = graph_client.simulate_get(f"{route}/{CHILD}", headers=auth("grumpy"))

    assert uuids(result) == sorted([PARENT, CHILD, GRANDCHILD])
    by_uuid = {item["uuid"]: item for item in result.json}
    assert by_uuid[CHILD]["derived_from"] == [PARENT]
    assert by_uuid[GRANDCHILD]["derived_from"] == [CHILD]
    assert by_uuid[PARENT]["derived_from"] == []
    assert by_uuid[GRANDCHILD]["uri"] == f"{MR_MEN}/{GRANDCHILD}"
    assert {"readme", "manifest", "annotations"}.isdisjoint(by_uuid[CHILD])
    assert {"tags", "type", "frozen_at", "creator_username"} <= set(by_uuid[CHILD])
    assert json.loads(result.headers["X-Pagination"])["total"] == 3


@pytest.mark.parametrize("route", ROUTES)
def test_a_user_sees_only_what_they_may_search(
    graph_client: testing.TestClient, auth: Header, route: str
) -> None:
    assert uuids(graph_client.simulate_get(f"{route}/{GRANDCHILD}", headers=auth("sleepy"))) == [
        GRANDCHILD
    ]
    nothing = graph_client.simulate_get(f"{route}/{CHILD}", headers=auth("sleepy"))
    assert nothing.json == []
    assert json.loads(nothing.headers["X-Pagination"]) == {"total": 0, "total_pages": 0}
    assert graph_client.simulate_get(f"{route}/{CHILD}", headers=auth("snow-white")).json == []


@pytest.mark.parametrize("route", ROUTES)
def test_post_walks_the_keys_it_names(
    graph_client: testing.TestClient, auth: Header, route: str
) -> None:
    def post(body: Any) -> list[str]:
        return uuids(
            graph_client.simulate_post(f"{route}/{PARENT}", headers=auth("grumpy"), json=body)
        )

    assert post({"dependency_keys": ["readme.made_from"]}) == sorted([PARENT, LONER])
    assert post(["readme.made_from"]) == sorted([PARENT, LONER])
    assert post({"dependency_keys": ["no_such_key"]}) == [PARENT]
    assert post({}) == sorted([PARENT, CHILD, GRANDCHILD])
    assert uuids(
        graph_client.simulate_post(f"{route}/{PARENT}", headers=auth("grumpy"))
    ) == sorted([PARENT, CHILD, GRANDCHILD])


def test_a_graph_is_paged(graph_client: testing.TestClient, auth: Header) -> None:
    result = graph_client.simulate_get(
        f"/graph/lookup/{CHILD}", params={"page": 2, "page_size": 2}, headers=auth("grumpy")
    )

    assert uuids(result) == sorted([PARENT, CHILD, GRANDCHILD])[2:]
    assert json.loads(result.headers["X-Pagination"])["total_pages"] == 2


def test_dserver_clients_sort_is_ignored_and_the_order_said(
    graph_client: testing.TestClient, auth: Header
) -> None:
    result = graph_client.simulate_get(
        f"/graph/uuids/{CHILD}", params={"sort": "-uri"}, headers=auth("grumpy")
    )

    assert uuids(result) == sorted([PARENT, CHILD, GRANDCHILD])
    assert json.loads(result.headers["X-Sort"]) == {"sort": {"uuid": 1}}


def test_any_uuid_spelling_is_one_uuid(graph_client: testing.TestClient, auth: Header) -> None:
    spelled = CHILD.upper().replace("-", "")
    result = graph_client.simulate_get(f"/graph/uuids/{spelled}", headers=auth("grumpy"))

    assert uuids(result) == sorted([PARENT, CHILD, GRANDCHILD])


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"dependency_keys": "readme.derived_from.uuid"}, 422, "dependency_keys"),
        ({"dependency_keys": []}, 422, "dependency_keys"),
        ({"dependency_keys": [1]}, 422, "dependency_keys"),
        ({"dependency_keys": ["readme..uuid"]}, 422, "dependency_keys"),
        ({"keys": ["readme.x"]}, 422, "keys"),
        ("readme.derived_from.uuid", 422, None),
        (42, 422, None),
    ],
)
def test_malformed_bodies_are_422_naming_the_field(
    graph_client: testing.TestClient, auth: Header, body: Any, status: int, where: str | None
) -> None:
    result = graph_client.simulate_post(
        f"/graph/lookup/{PARENT}", headers=auth("grumpy"), json=body
    )

    assert result.status_code == status
    assert where is None or where in json.dumps(result.json["errors"])


def test_bad_json_is_400_and_text_that_is_no_uuid_has_no_graph(
    graph_client: testing.TestClient, auth: Header
) -> None:
    bad_json = graph_client.simulate_post(
        f"/graph/lookup/{PARENT}",
        headers={**auth("grumpy"), "Content-Type": "application/json"},
        body="[not json",
    )
    not_uuid = graph_client.simulate_get("/graph/lookup/not-a-uuid", headers=auth("grumpy"))

    assert bad_json.status_code == 400
    assert not_uuid.status_code == 200
    assert not_uuid.json == []


def test_unregistered_callers_get_401(graph_client: testing.TestClient, auth: Header) -> None:
    assert graph_client.simulate_get(f"/graph/lookup/{PARENT}").status_code == 401
    assert (
        graph_client.simulate_get(f"/graph/uuids/{PARENT}", headers=auth("dopey")).status_code
        == 401
    )


def test_keys_not_configured_are_refused_when_dynamic_keys_are_off(
    settings: Settings, stores: Stores, auth: Header
) -> None:
    load_family(stores)
    configured = with_env(
        settings,
        DTOOL_LOOKUP_DEPENDENCY_KEYS='["readme.made_from", "readme.derived_from.uuid"]',
        DTOOL_LOOKUP_DYNAMIC_DEPENDENCY_KEYS="false",
    )
    client = client_for(configured, stores)

    refused = client.simulate_post(
        f"/graph/lookup/{PARENT}", headers=auth("grumpy"), json={"dependency_keys": ["other"]}
    )
    allowed = client.simulate_post(
        f"/graph/lookup/{PARENT}", headers=auth("grumpy"), json=["readme.made_from"]
    )

    assert refused.status_code == 400
    assert "DTOOL_LOOKUP_DYNAMIC_DEPENDENCY_KEYS is false" in refused.json["message"]
    assert uuids(allowed) == sorted([PARENT, LONER])
    assert uuids(client.simulate_get(f"/graph/lookup/{PARENT}", headers=auth("grumpy"))) == sorted(
        [PARENT, CHILD, LONER]
    )


def test_the_plugin_is_switched_off_by_its_setting(
    settings: Settings, stores: Stores, auth: Header
) -> None:
    load_family(stores)
    client = client_for(with_env(settings, DTOOL_LOOKUP_DEPENDENCY_GRAPH="false"), stores)

    assert (
        client.simulate_get(f"/graph/lookup/{PARENT}", headers=auth("grumpy")).status_code == 404
    )


def test_config_shows_the_settings(graph_client: testing.TestClient, auth: Header) -> None:
    config = graph_client.simulate_get("/config/info", headers=auth("grumpy")).json["config"]
    versions = graph_client.simulate_get("/config/versions", headers=auth("grumpy")).json

    assert config["dtool_lookup_dependency_keys"] == [
        "readme.derived_from.uuid",
        "annotations.source_dataset_uuid",
    ]
    assert config["dtool_lookup_dynamic_dependency_keys"] is True
    assert versions["dtool_lookup_dependency_graph"] == "0.2.0"
