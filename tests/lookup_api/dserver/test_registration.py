"""dserver ``PUT|DELETE /uris/{uri}``: register, replace and forget datasets.

Ported from dservercore 0.22's test_uri_routes.py, plus the successor's defect we
must not have: a deleted dataset disappears from every route at once.
"""

from __future__ import annotations

from typing import Any

from falcon import testing

from tests.lookup_api.dserver.test_datasets import encoded, suffix
from tests.support.api import Header
from tests.support.data import BAD_APPLES_UUID, SNOW_WHITE, bad_apples

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
