"""The structured-query plugin's routes over HTTP, on every SQL backend.

grumpy may search s3://snow-white and s3://mr-men, sleepy only s3://mr-men,
snow-white nothing; ``zeta`` lies in s3://hidden, which nobody may search.
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
from tests.support.data import MR_MEN, SNOW_WHITE
from tests.support.structured_cases import HIDDEN, U1, records


def load(stores: Stores) -> None:
    """Register the users, base URIs and the contract's six datasets."""
    for username, is_admin in (("grumpy", False), ("sleepy", False), ("snow-white", True)):
        stores.admin.add_user(username, is_admin)
    for base_uri in (SNOW_WHITE, MR_MEN, HIDDEN):
        stores.admin.add_base_uri(base_uri)
    stores.admin.set_permissions(SNOW_WHITE, search=["grumpy"], register=[])
    stores.admin.set_permissions(MR_MEN, search=["grumpy", "sleepy"], register=[])
    stores.datasets.upsert_many(records())


@pytest.fixture
def query_client(settings: Settings, stores: Stores) -> testing.TestClient:
    """The plugin with aggregations off (the default)."""
    load(stores)
    return client_for(settings, stores)


@pytest.fixture
def aggregate_client(settings: Settings, stores: Stores) -> testing.TestClient:
    """The plugin with ``DTOOL_LOOKUP_MONGO_AGGREGATE=true``."""
    load(stores)
    switched = dataclasses.replace(
        settings, environ_items=(("DTOOL_LOOKUP_MONGO_AGGREGATE", "true"),)
    )
    return client_for(switched, stores)


def post(client: testing.TestClient, auth: Header, route: str, body: Any, user: str = "grumpy"):
    """POST ``body`` to ``/mongo/<route>`` as ``user``."""
    return client.simulate_post(f"/mongo/{route}", headers=auth(user), json=body)


def names(result: Any) -> list[str]:
    assert result.status_code == 200, result.text
    return [hit["name"] for hit in result.json]


def test_query_finds_the_callers_matching_datasets(query_client, auth: Header) -> None:
    body = {"query": {"readme.project": {"$regex": "^apples", "$options": "i"}}}
    assert names(post(query_client, auth, "query", body)) == ["alpha", "delta"]
    assert names(post(query_client, auth, "query", body, "sleepy")) == ["delta"]
    assert names(post(query_client, auth, "query", body, "snow-white")) == []


def test_hits_have_the_search_shape(query_client, auth: Header) -> None:
    result = post(query_client, auth, "query", {"query": {"name": "alpha"}})
    (hit,) = result.json
    assert {"uri", "uuid", "name", "base_uri", "creator_username", "frozen_at"} <= set(hit)
    assert "readme" not in hit and "manifest" not in hit


def test_query_pages_like_search(query_client, auth: Header) -> None:
    result = query_client.simulate_post(
        "/mongo/query", headers=auth("grumpy"), json={}, params={"page": 2, "page_size": 2}
    )
    assert names(result) == ["gamma", "delta"]
    assert json.loads(result.headers["X-Pagination"])["total"] == 5


def test_the_search_criteria_narrow_the_filter(query_client, auth: Header) -> None:
    body = {"query": {"tags": "red"}, "creator_usernames": ["queen"]}
    assert names(post(query_client, auth, "query", body)) == ["alpha"]
    body = {"query": {"tags": "red"}, "base_uris": [MR_MEN, HIDDEN]}
    assert names(post(query_client, auth, "query", body)) == ["delta"]
    body = {"query": {"annotations.species": "apple"}, "tags": ["veg", "red"]}
    assert names(post(query_client, auth, "query", body)) == ["delta"]


def test_no_filter_reaches_a_dataset_outside_the_permissions(query_client, auth: Header) -> None:
    for query in (
        {"base_uri": HIDDEN},
        {"$or": [{"base_uri": HIDDEN}, {"name": "zeta"}]},
        {"$nor": [{"base_uri": SNOW_WHITE}, {"base_uri": MR_MEN}]},
        {"name": {"$ne": "alpha"}, "base_uri": {"$nin": [SNOW_WHITE]}},
    ):
        assert "zeta" not in names(post(query_client, auth, "query", {"query": query}))


@pytest.mark.parametrize(
    ("body", "part"),
    [
        ({"query": {"$where": "sleep(1000)"}}, "query.$where"),
        ({"query": {"readme.x": {"$regex": "(a+)+$"}}}, "query.readme.x.$regex"),
        ({"query": {"manifest": 1}}, "unknown field 'manifest'"),
        ({"query": {"name": {"$foo": 1}}}, "query.name.$foo"),
        ({"query": {"$or": "x"}}, "query.$or"),
    ],
)
def test_a_query_outside_the_subset_is_a_422_naming_the_part(
    query_client, auth: Header, body: dict[str, Any], part: str
) -> None:
    result = post(query_client, auth, "query", body)
    assert result.status_code == 422
    assert part in result.json["message"]


@pytest.mark.parametrize("body", [[], {"query": []}, {"query": {}, "other": 1}, {"uuids": ["x"]}])
def test_a_malformed_body_is_a_422(query_client, auth: Header, body: Any) -> None:
    assert post(query_client, auth, "query", body).status_code == 422


def test_unregistered_callers_are_refused(query_client, auth: Header) -> None:
    assert post(query_client, auth, "query", {}, "dopey").status_code == 401
    assert query_client.simulate_post("/mongo/query", json={}).status_code == 401


def test_aggregate_is_off_by_default(query_client, auth: Header) -> None:
    result = post(query_client, auth, "aggregate", {"aggregation": []})
    assert result.status_code == 404
    assert result.headers["content-type"].startswith("application/json")


def test_aggregate_groups_the_callers_datasets(aggregate_client, auth: Header) -> None:
    body = {
        "aggregation": [
            {"$unwind": "$tags"},
            {"$group": {"_id": "$tags", "n": {"$sum": 1}}},
            {"$sort": {"_id": 1}},
            {"$project": {"tag": "$_id", "n": 1}},
        ]
    }
    result = post(aggregate_client, auth, "aggregate", body)
    assert result.status_code == 200, result.text
    assert result.json == [
        {"tag": "fruit", "n": 2},
        {"tag": "red", "n": 2},
        {"tag": "veg", "n": 2},
    ]
    assert post(aggregate_client, auth, "aggregate", body, "sleepy").json == [
        {"tag": "red", "n": 1},
        {"tag": "veg", "n": 2},
    ]


def test_aggregate_pages_its_output(aggregate_client, auth: Header) -> None:
    body = {"aggregation": [{"$project": {"name": 1}}], "tags": ["fruit"]}
    result = aggregate_client.simulate_post(
        "/mongo/aggregate", headers=auth("grumpy"), json=body, params={"page_size": 1}
    )
    assert result.json == [{"name": "alpha"}]
    assert json.loads(result.headers["X-Pagination"])["total"] == 2


def test_aggregate_follows_parent_references(aggregate_client, auth: Header) -> None:
    body = {"aggregation": [{"$match": {"readme.derived_from.uuid": U1}}, {"$count": "n"}]}
    assert post(aggregate_client, auth, "aggregate", body).json == [{"n": 1}]


@pytest.mark.parametrize(
    ("stage", "part"),
    [
        ({"$lookup": {"from": "datasets", "as": "x"}}, "aggregation[0].$lookup"),
        ({"$graphLookup": {}}, "aggregation[0].$graphLookup"),
        ({"$out": "stolen"}, "aggregation[0].$out"),
        ({"$merge": {"into": "datasets"}}, "aggregation[0].$merge"),
        ({"$match": {"$expr": {"$gt": ["$a", 1]}}}, "aggregation[0].$match.$expr"),
        ({"$group": {"_id": {"$function": {}}}}, "aggregation[0].$group._id.$function"),
    ],
)
def test_an_aggregation_outside_the_subset_is_a_422_naming_the_stage(
    aggregate_client, auth: Header, stage: dict[str, Any], part: str
) -> None:
    result = post(aggregate_client, auth, "aggregate", {"aggregation": [stage]})
    assert result.status_code == 422
    assert part in result.json["message"]


def test_query_sorts_like_search_when_asked(query_client, auth: Header) -> None:
    result = query_client.simulate_post(
        "/mongo/query", headers=auth("grumpy"), json={}, params={"sort": "-name"}
    )
    assert names(result) == ["gamma", "epsilon", "delta", "beta", "alpha"]
    assert json.loads(result.headers["X-Sort"]) == {"sort": {"name": -1}}
    bad = query_client.simulate_post(
        "/mongo/query", headers=auth("grumpy"), json={}, params={"sort": "readme"}
    )
    assert bad.status_code == 422
