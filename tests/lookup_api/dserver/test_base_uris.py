"""dserver base URI routes: ``/base-uris``, ported from dservercore 0.22's tests."""

from __future__ import annotations

import json

from falcon import testing

from lookup_events.store import Stores
from tests.support.api import Header
from tests.support.data import MR_MEN, SNOW_WHITE


def test_get_base_uri(users_client: testing.TestClient, auth: Header) -> None:
    result = users_client.simulate_get("/base-uris/s3/snow-white", headers=auth("snow-white"))

    assert result.status_code == 200
    assert result.json == {
        "base_uri": SNOW_WHITE,
        "users_with_search_permissions": ["grumpy", "sleepy"],
        "users_with_register_permissions": ["grumpy"],
    }
    encoded = users_client.simulate_get(
        "/base-uris/s3:%2F%2Fsnow-white", headers=auth("snow-white")
    )
    assert encoded.json == result.json
    assert (
        users_client.simulate_get("/base-uris/s3/snow-white", headers=auth("noone")).status_code
        == 401
    )
    assert (
        users_client.simulate_get("/base-uris/s3/snow-white", headers=auth("grumpy")).status_code
        == 403
    )
    assert (
        users_client.simulate_get("/base-uris/s3/unknown", headers=auth("snow-white")).status_code
        == 404
    )


def test_put_base_uri(users_client: testing.TestClient, auth: Header) -> None:
    admin = auth("snow-white")
    body = {"users_with_search_permissions": ["sleepy"], "users_with_register_permissions": []}

    created = users_client.simulate_put("/base-uris/s3/mr-men", json=body, headers=admin)
    replaced = users_client.simulate_put(
        "/base-uris/s3/snow-white",
        json={"users_with_register_permissions": ["sleepy", "nobody-at-all"]},
        headers=admin,
    )
    no_body = users_client.simulate_put("/base-uris/s3/empty", headers=admin)

    assert created.status_code == 201
    assert created.json == {
        "base_uri": MR_MEN,
        "users_with_search_permissions": ["sleepy"],
        "users_with_register_permissions": [],
    }
    assert replaced.status_code == 200
    assert replaced.json["users_with_search_permissions"] == []
    assert replaced.json["users_with_register_permissions"] == ["sleepy"]
    assert no_body.status_code == 201
    assert (
        users_client.simulate_put("/base-uris/s3/x", json=body, headers=auth("grumpy")).status_code
        == 403
    )
    assert (
        users_client.simulate_put("/base-uris/s3/x", json=body, headers=auth("noone")).status_code
        == 401
    )


def test_delete_base_uri_takes_its_datasets(
    data_client: testing.TestClient, auth: Header, stores: Stores
) -> None:
    admin = auth("snow-white")
    assert (
        data_client.simulate_delete("/base-uris/s3/mr-men", headers=auth("grumpy")).status_code
        == 403
    )

    first = data_client.simulate_delete("/base-uris/s3/mr-men", headers=admin)
    second = data_client.simulate_delete("/base-uris/s3/mr-men", headers=admin)

    assert first.status_code == 200
    assert second.status_code == 200
    assert data_client.simulate_get("/base-uris/s3/mr-men", headers=admin).status_code == 404
    assert {
        d["base_uri"] for d in data_client.simulate_get("/uris", headers=auth("grumpy")).json
    } == {SNOW_WHITE}
    data_client.simulate_put(
        "/base-uris/s3/mr-men", json={"users_with_search_permissions": ["grumpy"]}, headers=admin
    )
    assert (
        data_client.simulate_get(
            "/uris", query_string="base_uris=s3://mr-men", headers=auth("grumpy")
        ).json
        == []
    )


def test_list_base_uris(data_client: testing.TestClient, auth: Header) -> None:
    admin = auth("snow-white")

    listed = data_client.simulate_get("/base-uris", headers=admin)
    descending = data_client.simulate_get(
        "/base-uris", query_string="sort=-base_uri", headers=admin
    )
    ascending = data_client.simulate_get(
        "/base-uris", query_string="sort=%2Bbase_uri", headers=admin
    )

    assert listed.json == [{"base_uri": MR_MEN}, {"base_uri": SNOW_WHITE}]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 2
    assert json.loads(descending.headers["X-Sort"]) == {"sort": {"base_uri": -1}}
    assert descending.json == [{"base_uri": SNOW_WHITE}, {"base_uri": MR_MEN}]
    assert ascending.json == listed.json
    assert data_client.simulate_get("/base-uris", headers=auth("grumpy")).status_code == 403
    assert data_client.simulate_get("/base-uris", headers=auth("noone")).status_code == 401
    beyond = data_client.simulate_get("/base-uris", query_string="page=2", headers=admin)
    assert beyond.status_code == 404
