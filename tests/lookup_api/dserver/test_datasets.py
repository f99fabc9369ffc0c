"""dserver dataset routes: ``/uris``, ``/uuids``, readmes, manifests, annotations, tags.

Ported from dservercore 0.22's test_uri_routes.py, test_uuid_routes.py and
test_metadata_retrieval_routes.py, plus the successor's defects we must not have.
``PUT|DELETE /uris/{uri}`` register, replace and forget datasets: a deleted
dataset disappears from every route at once.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from falcon import testing

from lookup_events.store import Stores
from tests.support.api import Header
from tests.support.data import (
    BAD_APPLES_UUID,
    FROZEN_AT,
    MR_MEN,
    ORANGES_UUID,
    SNOW_WHITE,
    bad_apples,
)

BAD_APPLES_SW = f"{SNOW_WHITE}/{BAD_APPLES_UUID}"
BAD_APPLES_MM = f"{MR_MEN}/{BAD_APPLES_UUID}"
ORANGES = f"{SNOW_WHITE}/{ORANGES_UUID}"


def entry(uri: str) -> dict[str, Any]:
    """Return the exact dserver entry of an anchor dataset."""
    base_uri, uuid = uri.rsplit("/", 1)
    oranges = uuid == ORANGES_UUID
    return {
        "base_uri": base_uri,
        "created_at": FROZEN_AT,
        "creator_username": "queen",
        "frozen_at": FROZEN_AT,
        "name": "oranges" if oranges else "bad-apples",
        "number_of_items": 0 if oranges else 1,
        "size_in_bytes": 0 if oranges else 5741810,
        "uri": uri,
        "uuid": uuid,
    }


def suffix(uri: str) -> str:
    """Return the URL-suffix spelling of a URI: ``s3/bucket/uuid``."""
    return uri.replace("://", "/", 1)


def encoded(uri: str) -> str:
    """Return the percent-encoded spelling of a URI, as dtool-lookup-api sends it."""
    return quote(uri, safe=":")


def uris(result: testing.Result) -> list[str]:
    return [item["uri"] for item in result.json]


def test_list_is_sorted_by_uri_with_exact_entries(
    data_client: testing.TestClient, auth: Header
) -> None:
    result = data_client.simulate_get("/uris", headers=auth("grumpy"))

    assert result.status_code == 200
    assert result.json == [entry(BAD_APPLES_MM), entry(ORANGES), entry(BAD_APPLES_SW)]
    assert json.loads(result.headers["X-Sort"]) == {"sort": {"uri": 1}}
    assert json.loads(result.headers["X-Pagination"])["total"] == 3


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("%2Bname,-base_uri", [BAD_APPLES_SW, BAD_APPLES_MM, ORANGES]),
        ("%2Buuid,-uri", [ORANGES, BAD_APPLES_SW, BAD_APPLES_MM]),
        ("name,uri", [BAD_APPLES_MM, BAD_APPLES_SW, ORANGES]),
        ("-frozen_at,-uri", [BAD_APPLES_SW, ORANGES, BAD_APPLES_MM]),
    ],
)
def test_list_sorts(
    data_client: testing.TestClient, auth: Header, sort: str, expected: list[str]
) -> None:
    for method in ("GET", "POST"):
        result = data_client.simulate_request(
            method, "/uris", query_string=f"sort={sort}", headers=auth("grumpy")
        )
        assert uris(result) == expected, method


def test_sort_header_echoes_the_order(data_client: testing.TestClient, auth: Header) -> None:
    result = data_client.simulate_get(
        "/uris", query_string="sort=%2Bname,-base_uri", headers=auth("grumpy")
    )

    assert json.loads(result.headers["X-Sort"]) == {"sort": {"name": 1, "base_uri": -1}}


def test_sort_and_pages_together(data_client: testing.TestClient, auth: Header) -> None:
    query = "sort=-uuid,%2Buri&page_size=2"
    first = data_client.simulate_get(
        "/uris", query_string=f"{query}&page=1", headers=auth("grumpy")
    )
    second = data_client.simulate_get(
        "/uris", query_string=f"{query}&page=2", headers=auth("grumpy")
    )
    third = data_client.simulate_get(
        "/uris", query_string=f"{query}&page=3", headers=auth("grumpy")
    )

    assert uris(first) == [BAD_APPLES_MM, BAD_APPLES_SW]
    assert uris(second) == [ORANGES]
    assert json.loads(second.headers["X-Pagination"]) == {
        "total": 3,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 2,
        "previous_page": 1,
    }
    assert third.status_code == 200  # past the end: empty, as every dataset search
    assert third.json == []


def test_unknown_sort_field_is_422_listing_the_allowed_ones(
    data_client: testing.TestClient, auth: Header
) -> None:
    for sort in ("size_in_bytes", "name,nonsense", "+uri"):  # a raw + is a space
        result = data_client.simulate_get(
            "/uris", query_string=f"sort={quote(sort, safe='+,')}", headers=auth("grumpy")
        )
        assert result.status_code == 422, sort
        (messages,) = result.json["errors"]["query"]["sort"].values()
        assert messages[0].startswith("Must be one of: +base_uri, +created_at")
        assert "-uuid" in messages[0]


def test_only_the_first_sort_parameter_counts(
    data_client: testing.TestClient, auth: Header
) -> None:
    result = data_client.simulate_get(
        "/uris", query_string="sort=-uri&sort=uri", headers=auth("grumpy")
    )

    assert uris(result) == [BAD_APPLES_SW, ORANGES, BAD_APPLES_MM]


def test_list_without_permission_or_registration(
    data_client: testing.TestClient, auth: Header
) -> None:
    sleepy = data_client.simulate_get("/uris", headers=auth("sleepy"))
    dopey = data_client.simulate_get("/uris", headers=auth("dopey"))
    nobody = data_client.simulate_get("/uris")

    assert sleepy.status_code == 200
    assert sleepy.json == []
    assert dopey.status_code == 401
    assert dopey.json == {
        "code": 401,
        "status": "Unauthorized",
        "message": "user 'dopey' is not registered",
    }
    assert nobody.status_code == 401
    assert nobody.json["msg"] == "Missing Authorization Header"


QUERIES: list[tuple[dict[str, Any], int]] = [
    ({"creator_usernames": ["queen"]}, 3),
    ({"free_text": "apple"}, 2),
    ({"free_text": "U00096"}, 2),
    ({"free_text": "crazystuff"}, 1),
    ({"tags": ["good"]}, 1),
    ({"tags": ["fruit", "evil"]}, 2),
    ({"tags": ["good", "evil"]}, 0),
    ({"free_text": "crazystuff", "tags": ["good"]}, 1),
    ({"free_text": "crazystuff", "tags": ["evil"]}, 0),
    ({"uuids": [ORANGES_UUID]}, 1),
    ({"base_uris": [MR_MEN]}, 1),
    ({"base_uris": []}, 0),
]


@pytest.mark.parametrize(("query", "count"), QUERIES)
def test_search_by_query_string_and_by_body(
    data_client: testing.TestClient, auth: Header, query: dict[str, Any], count: int
) -> None:
    params = "&".join(
        f"{key}={quote(value)}"
        for key, values in query.items()
        for value in (values if isinstance(values, list) else [values])
    )
    by_get = data_client.simulate_get("/uris", query_string=params, headers=auth("grumpy"))
    by_post = data_client.simulate_post("/uris", json=query, headers=auth("grumpy"))

    assert by_post.status_code == 200
    assert len(by_post.json) == count
    if query != {"base_uris": []}:  # an empty list cannot be spelled in a query string
        assert by_get.json == by_post.json


def test_search_results_keep_full_timestamps(
    data_client: testing.TestClient, auth: Header
) -> None:
    searched = data_client.simulate_post(
        "/uris", json={"creator_usernames": ["queen"]}, headers=auth("grumpy")
    )
    listed = data_client.simulate_get("/uris", headers=auth("grumpy"))
    looked_up = data_client.simulate_get(f"/uuids/{BAD_APPLES_UUID}", headers=auth("grumpy"))

    assert searched.json == listed.json  # dservercore truncated search hits to milliseconds
    assert searched.json[0]["frozen_at"] == FROZEN_AT
    assert looked_up.json == [entry(BAD_APPLES_MM), entry(BAD_APPLES_SW)]


def test_search_rejects_unknown_keys_and_bad_uuids(
    data_client: testing.TestClient, auth: Header
) -> None:
    body = data_client.simulate_post("/uris", json={"query": {}}, headers=auth("grumpy"))
    query = data_client.simulate_get("/uris", query_string="uuids=nope", headers=auth("grumpy"))

    assert body.status_code == 422
    assert body.json["errors"] == {"json": {"query": ["Unknown field."]}}
    assert query.status_code == 422
    assert query.json["errors"] == {"query": {"uuids": {"0": ["Not a valid UUID."]}}}


def test_uuids_lookup(data_client: testing.TestClient, auth: Header) -> None:
    path = f"/uuids/{BAD_APPLES_UUID}"

    grumpy = data_client.simulate_get(path, headers=auth("grumpy"))
    sleepy = data_client.simulate_get(path, headers=auth("sleepy"))
    dopey = data_client.simulate_get(path, headers=auth("dopey"))

    assert uris(grumpy) == [BAD_APPLES_MM, BAD_APPLES_SW]
    assert json.loads(grumpy.headers["X-Sort"]) == {"sort": {"uri": 1}}
    assert sleepy.json == []
    assert dopey.status_code == 401


@pytest.mark.parametrize("spell", [suffix, encoded, str], ids=["suffix", "encoded", "raw"])
def test_get_dataset_by_uri_in_either_spelling(
    data_client: testing.TestClient, auth: Header, spell: Any
) -> None:
    result = data_client.simulate_get(f"/uris/{spell(BAD_APPLES_MM)}", headers=auth("grumpy"))

    assert result.status_code == 200
    assert result.json == entry(BAD_APPLES_MM)


def test_get_dataset_statuses(data_client: testing.TestClient, auth: Header) -> None:
    path = f"/uris/{suffix(BAD_APPLES_MM)}"

    assert data_client.simulate_get(path, headers=auth("sleepy")).status_code == 403
    assert data_client.simulate_get(path, headers=auth("dopey")).status_code == 401
    missing = data_client.simulate_get(
        "/uris/s3/mr-men/non-existent-dataset", headers=auth("grumpy")
    )
    unknown_base = data_client.simulate_get(
        f"/uris/s3/nowhere/{BAD_APPLES_UUID}", headers=auth("grumpy")
    )
    assert missing.status_code == 404
    assert missing.json["code"] == 404
    assert unknown_base.status_code == 403


METADATA = [
    ("readmes", {"readme": "---\ndescripton: apples from queen"}),
    ("annotations", {"annotations": {"type": "fruit"}}),
    ("tags", {"tags": ["evil", "fruit"]}),
    ("manifests", bad_apples(SNOW_WHITE)["manifest"]),
]


@pytest.mark.parametrize(("route", "expected"), METADATA, ids=[m[0] for m in METADATA])
def test_metadata_routes(
    data_client: testing.TestClient, auth: Header, route: str, expected: Any
) -> None:
    good = f"/{route}/{suffix(BAD_APPLES_SW)}"

    assert data_client.simulate_get(good, headers=auth("grumpy")).json == expected
    assert (
        data_client.simulate_get(f"/{route}/{encoded(BAD_APPLES_SW)}", headers=auth("grumpy")).json
        == expected
    )
    assert data_client.simulate_get(good, headers=auth("dopey")).status_code == 401
    assert data_client.simulate_get(good, headers=auth("noone")).status_code == 401
    assert data_client.simulate_get(good, headers=auth("sleepy")).status_code == 403
    unknown_base = f"/{route}/s3/unknown/{BAD_APPLES_UUID}"
    for user in ("sleepy", "grumpy"):
        assert data_client.simulate_get(unknown_base, headers=auth(user)).status_code == 403
    missing = f"/{route}/s3/snow-white/{ORANGES_UUID[:-1]}0"
    assert data_client.simulate_get(missing, headers=auth("grumpy")).status_code == 404


def test_annotations_keep_their_json_types(
    data_client: testing.TestClient, auth: Header, stores: Stores
) -> None:
    info = bad_apples(SNOW_WHITE)
    info["annotations"] = {"count": 5, "ratio": 0.5, "ok": True, "list": [1, "a"], "none": None}
    put = data_client.simulate_put(
        f"/uris/{suffix(BAD_APPLES_SW)}", json=info, headers=auth("grumpy")
    )

    result = data_client.simulate_get(
        f"/annotations/{suffix(BAD_APPLES_SW)}", headers=auth("grumpy")
    )

    assert put.status_code == 200
    assert result.json == {"annotations": info["annotations"]}


URI = f"{SNOW_WHITE}/{BAD_APPLES_UUID}"


PATH = f"/uris/{suffix(URI)}"


def info(**changes: Any) -> dict[str, Any]:
    """Return bad-apples as dtool-lookup-api 0.10.3 sends it: string frozen_at, no created_at."""
    body = bad_apples(SNOW_WHITE)
    body["frozen_at"] = "1536238185.881941"
    body.update(changes)
    return body


def test_put_creates_then_replaces(users_client: testing.TestClient, auth: Header) -> None:
    created = users_client.simulate_put(PATH, json=info(), headers=auth("grumpy"))
    replaced = users_client.simulate_put(
        PATH, json=info(size_in_bytes=15741810, name="better-apples"), headers=auth("grumpy")
    )
    listed = users_client.simulate_get("/uris", headers=auth("grumpy"))

    assert created.status_code == 201
    assert created.json["uri"] == URI
    assert replaced.status_code == 200
    assert replaced.json["size_in_bytes"] == 15741810
    assert [(d["name"], d["size_in_bytes"]) for d in listed.json] == [("better-apples", 15741810)]


def test_put_refuses(users_client: testing.TestClient, auth: Header) -> None:
    assert users_client.simulate_put(PATH, json=info(), headers=auth("dopey")).status_code == 401
    assert users_client.simulate_put(PATH, json=info(), headers=auth("noone")).status_code == 401
    assert users_client.simulate_put(PATH, json=info(), headers=auth("sleepy")).status_code == 403
    unknown_base = users_client.simulate_put(
        f"/uris/s3/nowhere/{BAD_APPLES_UUID}",
        json=info(base_uri="s3://nowhere", uri=f"s3://nowhere/{BAD_APPLES_UUID}"),
        headers=auth("grumpy"),
    )
    assert unknown_base.status_code == 403


def test_put_invalid_dataset_is_400(users_client: testing.TestClient, auth: Header) -> None:
    diverging = users_client.simulate_put(f"{PATH}-diverges", json=info(), headers=auth("grumpy"))
    partial = users_client.simulate_put(
        PATH, json={"uuid": BAD_APPLES_UUID, "uri": URI}, headers=auth("grumpy")
    )
    proto = users_client.simulate_put(PATH, json=info(type="protodataset"), headers=auth("grumpy"))
    wrong_type = users_client.simulate_put(PATH, json=info(tags="evil"), headers=auth("grumpy"))

    assert diverging.status_code == 400
    assert partial.status_code == 400
    assert "missing required keys" in partial.json["message"]
    assert proto.status_code == 400
    assert wrong_type.status_code == 422
    assert wrong_type.json["errors"] == {"json": {"tags": ["Not a valid list."]}}


def test_put_accepts_string_created_at_and_numbers(
    users_client: testing.TestClient, auth: Header
) -> None:
    body = info(created_at="1536238185.0", frozen_at=1536238186.5)

    result = users_client.simulate_put(f"/uris/{encoded(URI)}", json=body, headers=auth("grumpy"))

    assert result.status_code == 201
    assert result.json["created_at"] == 1536238185.0
    assert result.json["frozen_at"] == 1536238186.5


def test_deleted_dataset_disappears_from_every_route(
    data_client: testing.TestClient, auth: Header
) -> None:
    grumpy = auth("grumpy")
    assert data_client.simulate_delete(PATH, headers=auth("sleepy")).status_code == 403
    assert data_client.simulate_delete(PATH, headers=auth("dopey")).status_code == 401

    deleted = data_client.simulate_delete(PATH, headers=grumpy)

    assert deleted.status_code == 200
    for route in ("uris", "readmes", "manifests", "annotations", "tags"):
        assert (
            data_client.simulate_get(f"/{route}/{suffix(URI)}", headers=grumpy).status_code == 404
        )
    assert URI not in [d["uri"] for d in data_client.simulate_get("/uris", headers=grumpy).json]
    searched = data_client.simulate_post("/uris", json={"free_text": "apple"}, headers=grumpy)
    assert [d["uri"] for d in searched.json] == [f"s3://mr-men/{BAD_APPLES_UUID}"]
    summary = data_client.simulate_get("/me/summary", headers=grumpy).json
    assert summary["number_of_datasets"] == 2
    legacy = data_client.simulate_post("/dataset/readme", json={"uri": URI}, headers=grumpy)
    assert legacy.status_code == 400
    assert len(data_client.simulate_get("/dataset/list", headers=grumpy).json) == 2


def test_delete_is_idempotent(data_client: testing.TestClient, auth: Header) -> None:
    for path in (PATH, PATH, "/uris/s3/snow-white/never-was-there"):
        assert data_client.simulate_delete(path, headers=auth("grumpy")).status_code == 200


@pytest.mark.parametrize(
    ("params", "body", "names"),
    [
        ("annotations=only_here%3Dcrazystuff", {"annotations": {"only_here": "crazystuff"}}, 1),
        (
            "annotation_keys=only_here&annotation_keys=type",
            {"annotation_keys": ["only_here", "type"]},
            1,
        ),
        (
            "annotations=type%3Dfruit&tags=evil",
            {"annotations": {"type": "fruit"}, "tags": ["evil"]},
            2,
        ),
        ('annotations=type%3D"fruit"', {"annotations": {"type": "fruit"}}, 3),
        ("annotations=type%3D1", {"annotations": {"type": 1}}, 0),
    ],
)
def test_search_by_annotations_in_query_string_and_body(
    data_client: testing.TestClient, auth: Header, params: str, body: dict[str, Any], names: int
) -> None:
    by_get = data_client.simulate_get("/uris", query_string=params, headers=auth("grumpy"))
    by_post = data_client.simulate_post("/uris", json=body, headers=auth("grumpy"))

    assert by_get.status_code == by_post.status_code == 200
    assert len(by_post.json) == names
    assert by_get.json == by_post.json
    assert json.loads(by_get.headers["X-Pagination"]).get("total", 0) == names


def test_search_query_string_annotations_must_be_pairs(
    data_client: testing.TestClient, auth: Header
) -> None:
    result = data_client.simulate_get(
        "/uris", query_string="annotations=type", headers=auth("grumpy")
    )
    assert result.status_code == 422
    assert "annotations" in result.json["errors"]["query"]
