"""The annotation-filter plugin's routes over HTTP, on every SQL backend.

grumpy may search s3://snow-white (bad-apples and oranges), sleepy only
s3://mr-men (its copy of bad-apples): every count must say so.
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
from tests.support.data import MR_MEN, SNOW_WHITE, load_anchor_data

PREFIX = "/annotation_filter_plugin"


@pytest.fixture
def facets_client(settings: Settings, stores: Stores) -> testing.TestClient:
    """The anchor data, grumpy searching s3://snow-white and sleepy s3://mr-men."""
    load_anchor_data(stores)
    stores.admin.set_permissions(SNOW_WHITE, search=["grumpy"], register=["grumpy"])
    stores.admin.set_permissions(MR_MEN, search=["sleepy"], register=[])
    return client_for(settings, stores)


def post(client: testing.TestClient, auth: Header, route: str, body: Any, user: str = "grumpy"):
    """POST ``body`` to one of the plugin's routes as ``user``."""
    return client.simulate_post(f"{PREFIX}/{route}", headers=auth(user), json=body)


def test_version_answers_a_registered_user(facets_client, auth: Header) -> None:
    result = facets_client.simulate_get(f"{PREFIX}/version", headers=auth("grumpy"))
    assert result.status_code == 200
    assert result.json == "0.2.1"
    assert facets_client.simulate_get(f"{PREFIX}/version").status_code == 401


def test_keys_count_only_the_callers_datasets(facets_client, auth: Header) -> None:
    assert post(facets_client, auth, "annotation_keys", {}).json == {"only_here": 1, "type": 2}
    assert post(facets_client, auth, "annotation_keys", {}, "sleepy").json == {"type": 1}
    assert post(facets_client, auth, "annotation_keys", {}, "snow-white").json == {}


def test_keys_under_a_filter(facets_client, auth: Header) -> None:
    body = {"annotation_keys": ["only_here"]}
    assert post(facets_client, auth, "annotation_keys", body).json == {"only_here": 1, "type": 1}


def test_values_of_the_keys_named(facets_client, auth: Header) -> None:
    body = {"annotation_keys": ["type", "only_here"]}
    assert post(facets_client, auth, "annotation_values", body).json == {
        "only_here": {"crazystuff": 1},
        "type": {"fruit": 1},
    }
    body = {"annotation_keys": ["type"]}
    assert post(facets_client, auth, "annotation_values", body).json == {"type": {"fruit": 2}}
    assert post(facets_client, auth, "annotation_values", body, "sleepy").json == {
        "type": {"fruit": 1}
    }
    assert post(facets_client, auth, "annotation_values", {}).json == {}


def test_num_datasets_and_datasets(facets_client, auth: Header) -> None:
    body = {"annotations": {"only_here": "crazystuff"}}
    assert post(facets_client, auth, "num_datasets", {}).json == 2
    assert post(facets_client, auth, "num_datasets", body).json == 1
    assert post(facets_client, auth, "num_datasets", body, "sleepy").json == 0
    result = post(facets_client, auth, "datasets", body)
    assert result.status_code == 200
    assert [hit["name"] for hit in result.json] == ["oranges"]
    assert json.loads(result.headers["X-Pagination"])["total"] == 1


def test_base_uris_in_the_body_cannot_widen_the_view(facets_client, auth: Header) -> None:
    body = {"base_uris": [MR_MEN]}
    assert post(facets_client, auth, "annotation_keys", body).json == {}
    assert post(facets_client, auth, "num_datasets", body).json == 0
    assert post(facets_client, auth, "datasets", body).json == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ("type", {"_schema": ["Invalid input type."]}),
        (["type"], {"_schema": ["Invalid input type."]}),
        ({"annotations": "type"}, {"annotations": ["Not a valid mapping type."]}),
        ({"annotations": ["type"]}, {"annotations": ["Not a valid mapping type."]}),
        (
            {"annotations": {"type": {"a": 1}}},
            {"annotations": {"type": {"value": ["Not a valid string, number or boolean."]}}},
        ),
        ({"annotation_keys": "type"}, {"annotation_keys": ["Not a valid list."]}),
        ({"annotation_keys": [1]}, {"annotation_keys": {"0": ["Not a valid string."]}}),
        (
            {"annotation_keys": ["k"] * 101},
            {"annotation_keys": ["More than 100 entries."]},
        ),
        (
            {"annotations": {f"k{i}": i for i in range(101)}},
            {"annotations": ["More than 100 entries."]},
        ),
        ({"annotation": {}}, {"annotation": ["Unknown field."]}),
    ],
)
@pytest.mark.parametrize(
    "route", ["annotation_keys", "annotation_values", "num_datasets", "datasets"]
)
def test_malformed_bodies_get_a_422_naming_the_field(
    facets_client, auth: Header, route: str, body: Any, errors: dict[str, Any]
) -> None:
    result = post(facets_client, auth, route, body)
    assert result.status_code == 422, result.text
    assert result.json["errors"] == {"json": errors}


def test_an_unregistered_caller_gets_401(facets_client, auth: Header) -> None:
    assert post(facets_client, auth, "annotation_keys", {}, "dopey").status_code == 401


def test_the_setting_switches_the_routes_off(settings: Settings, stores: Stores, auth) -> None:
    off = dataclasses.replace(
        settings, environ_items=(("DTOOL_LOOKUP_ANNOTATION_FILTER", "false"),)
    )
    client = client_for(off, stores)
    assert (
        client.simulate_post(f"{PREFIX}/annotation_keys", headers=auth("grumpy")).status_code
        == 404
    )
    assert (
        "dtool_lookup_annotation_filter"
        not in client.simulate_get("/config/versions").json["versions"]
    )


def test_the_plugin_shows_its_version_and_setting(facets_client, auth: Header) -> None:
    versions = facets_client.simulate_get("/config/versions").json["versions"]
    assert versions["dtool_lookup_annotation_filter"] == "0.2.1"
    info = facets_client.simulate_get("/config/info", headers=auth("grumpy")).json["config"]
    assert info["dtool_lookup_annotation_filter"] is True


def test_the_openapi_document_has_the_operations(facets_client) -> None:
    paths = facets_client.simulate_get("/doc/openapi.json").json["paths"]
    operations = {
        (method, path)
        for path, item in paths.items()
        for method in item
        if path.startswith(PREFIX)
    }
    assert operations == {
        ("get", f"{PREFIX}/version"),
        ("post", f"{PREFIX}/annotation_keys"),
        ("post", f"{PREFIX}/annotation_values"),
        ("post", f"{PREFIX}/num_datasets"),
        ("post", f"{PREFIX}/datasets"),
    }
    body = paths[f"{PREFIX}/annotation_keys"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/AnnotationFilter"}
