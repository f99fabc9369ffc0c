"""The ``/dataset/*`` routes, ported from the anchor's test_dataset_routes.py and more."""

from __future__ import annotations

import json
from typing import Any

from falcon import testing

from tests.support.api import Header
from tests.support.data import (
    BAD_APPLES_MANIFEST,
    BAD_APPLES_UUID,
    FROZEN_AT,
    MR_MEN,
    ORANGES_UUID,
    SNOW_WHITE,
    register_body,
)

BAD_APPLES_URI = f"{SNOW_WHITE}/{BAD_APPLES_UUID}"
ORANGES_URI = f"{SNOW_WHITE}/{ORANGES_UUID}"
LIST_KEYS = {
    "base_uri",
    "created_at",
    "creator_username",
    "frozen_at",
    "name",
    "number_of_items",
    "size_in_bytes",
    "uri",
    "uuid",
}
EMPTY_SUMMARY = {
    "number_of_datasets": 0,
    "creator_usernames": [],
    "base_uris": [],
    "datasets_per_creator": {},
    "datasets_per_base_uri": {},
    "tags": [],
    "datasets_per_tag": {},
}


def search(client: testing.TestClient, auth: Header, user: str, body: Any) -> testing.Result:
    return client.simulate_post("/dataset/search", json=body, headers=auth(user))


def test_summary(data_client: testing.TestClient, auth: Header) -> None:
    result = data_client.simulate_get("/dataset/summary", headers=auth("grumpy"))

    assert result.status_code == 200
    assert result.json == {
        "number_of_datasets": 3,
        "creator_usernames": ["queen"],
        "base_uris": ["s3://mr-men", "s3://snow-white"],
        "datasets_per_creator": {"queen": 3},
        "datasets_per_base_uri": {"s3://mr-men": 1, "s3://snow-white": 2},
        "tags": ["evil", "fruit", "good"],
        "datasets_per_tag": {"good": 1, "evil": 2, "fruit": 3},
    }


def test_summary_without_permissions_is_empty(
    data_client: testing.TestClient, auth: Header
) -> None:
    for user in ("sleepy", "snow-white"):  # admins get no implicit access
        result = data_client.simulate_get("/dataset/summary", headers=auth(user))
        assert result.status_code == 200
        assert result.json == EMPTY_SUMMARY


def test_dataset_routes_refuse_unregistered_users_with_401(
    data_client: testing.TestClient, auth: Header
) -> None:
    requests = [
        ("GET", "/dataset/summary", None),
        ("GET", "/dataset/list", None),
        ("GET", f"/dataset/lookup/{BAD_APPLES_UUID}", None),
        ("POST", "/dataset/search", {}),
        ("POST", "/dataset/register", register_body()),
        ("POST", "/dataset/readme", {"uri": BAD_APPLES_URI}),
        ("POST", "/dataset/manifest", {"uri": BAD_APPLES_URI}),
        ("POST", "/dataset/annotations", {"uri": BAD_APPLES_URI}),
        ("GET", "/config/info", None),
    ]
    for method, path, body in requests:
        for user in ("dopey", "noone"):
            result = data_client.simulate_request(method, path, json=body, headers=auth(user))
            assert result.status_code == 401, (path, result.json)
            assert result.json["code"] == 401
            assert result.json["status"] == "Unauthorized"
            assert "msg" not in result.json


def test_list(data_client: testing.TestClient, auth: Header) -> None:
    result = data_client.simulate_get("/dataset/list", headers=auth("grumpy"))

    assert result.status_code == 200
    assert len(result.json) == 3
    for item in result.json:
        assert set(item) == LIST_KEYS
        assert isinstance(item["created_at"], float)
        assert isinstance(item["frozen_at"], float)
    assert {item["uri"] for item in result.json} == {
        BAD_APPLES_URI,
        f"{MR_MEN}/{BAD_APPLES_UUID}",
        ORANGES_URI,
    }


def test_list_keeps_microseconds_and_defaults_created_at(
    data_client: testing.TestClient, auth: Header
) -> None:
    result = data_client.simulate_get(f"/dataset/lookup/{ORANGES_UUID}", headers=auth("grumpy"))

    (item,) = result.json
    assert item["frozen_at"] == FROZEN_AT
    assert item["created_at"] == FROZEN_AT
    assert item["number_of_items"] == 0
    assert item["size_in_bytes"] == 0


def test_list_without_permission_is_empty(data_client: testing.TestClient, auth: Header) -> None:
    result = data_client.simulate_get("/dataset/list", headers=auth("sleepy"))

    assert result.status_code == 200
    assert result.json == []
    assert json.loads(result.headers["X-Pagination"]) == {"total": 0, "total_pages": 0}


def test_lookup(data_client: testing.TestClient, auth: Header) -> None:
    path = f"/dataset/lookup/{BAD_APPLES_UUID}"

    grumpy = data_client.simulate_get(path, headers=auth("grumpy"))
    sleepy = data_client.simulate_get(path, headers=auth("sleepy"))

    assert grumpy.status_code == 200
    assert {item["base_uri"] for item in grumpy.json} == {SNOW_WHITE, MR_MEN}
    assert all(set(item) == LIST_KEYS for item in grumpy.json)
    assert sleepy.status_code == 200
    assert sleepy.json == []


def test_lookup_of_unknown_or_malformed_uuid_is_empty(
    data_client: testing.TestClient, auth: Header
) -> None:
    for uuid in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", "%27%3B--"):
        result = data_client.simulate_get(f"/dataset/lookup/{uuid}", headers=auth("grumpy"))
        assert result.status_code == 200
        assert result.json == []


def test_lookup_accepts_upper_case_uuid(data_client: testing.TestClient, auth: Header) -> None:
    path = f"/dataset/lookup/{BAD_APPLES_UUID.upper()}"

    result = data_client.simulate_get(path, headers=auth("grumpy"))

    assert len(result.json) == 2


def test_search_everything(data_client: testing.TestClient, auth: Header) -> None:
    result = search(data_client, auth, "grumpy", {})

    assert result.status_code == 200
    assert len(result.json) == 3
    for item in result.json:
        assert LIST_KEYS | {"tags", "type"} <= set(item)
        assert "readme" not in item and "manifest" not in item and "annotations" not in item
        assert isinstance(item["frozen_at"], float)
        assert item["type"] == "dataset"


def test_search_without_body_returns_everything(
    data_client: testing.TestClient, auth: Header
) -> None:
    result = data_client.simulate_post("/dataset/search", headers=auth("grumpy"))

    assert result.status_code == 200
    assert len(result.json) == 3


def test_search_without_permission_is_empty(data_client: testing.TestClient, auth: Header) -> None:
    assert search(data_client, auth, "sleepy", {}).json == []


def test_search_free_text(data_client: testing.TestClient, auth: Header) -> None:
    expected = {"apple": 2, "U00096": 2, "crazystuff": 1}
    for text, count in expected.items():
        result = search(data_client, auth, "grumpy", {"free_text": text})
        assert len(result.json) == count, text


def test_search_tags_are_and_ed(data_client: testing.TestClient, auth: Header) -> None:
    expected = {("good",): 1, ("good", "evil"): 0, ("fruit", "evil"): 2}
    for tags, count in expected.items():
        assert len(search(data_client, auth, "grumpy", {"tags": list(tags)}).json) == count


def test_search_combines_criteria(data_client: testing.TestClient, auth: Header) -> None:
    good = search(data_client, auth, "grumpy", {"free_text": "crazystuff", "tags": ["good"]})
    evil = search(data_client, auth, "grumpy", {"free_text": "crazystuff", "tags": ["evil"]})

    assert len(good.json) == 1
    assert evil.json == []


def test_search_base_uris_are_limited_to_permissions(
    data_client: testing.TestClient, auth: Header, stores: Any
) -> None:
    stores.admin.set_permissions(MR_MEN, search=[], register=[])

    mr_men = search(data_client, auth, "grumpy", {"base_uris": [MR_MEN]})
    both = search(data_client, auth, "grumpy", {"base_uris": [MR_MEN, SNOW_WHITE]})
    none = search(data_client, auth, "grumpy", {"base_uris": []})

    assert mr_men.json == []
    assert {item["base_uri"] for item in both.json} == {SNOW_WHITE}
    assert none.json == []


def test_search_creators_and_uuids_are_or_ed(
    data_client: testing.TestClient, auth: Header
) -> None:
    creators = search(data_client, auth, "grumpy", {"creator_usernames": ["queen", "king"]})
    uuids = search(data_client, auth, "grumpy", {"uuids": [ORANGES_UUID, BAD_APPLES_UUID]})
    king = search(data_client, auth, "grumpy", {"creator_usernames": ["king"]})

    assert len(creators.json) == 3
    assert len(uuids.json) == 3
    assert king.json == []


def test_search_ignores_empty_lists(data_client: testing.TestClient, auth: Header) -> None:
    body: dict[str, list[str]] = {"creator_usernames": [], "uuids": [], "tags": []}

    assert len(search(data_client, auth, "grumpy", body).json) == 3


def test_search_rejects_unknown_keys_and_bad_uuids(
    data_client: testing.TestClient, auth: Header
) -> None:
    query = search(data_client, auth, "grumpy", {"query": {"name": "x"}})
    uuids = search(data_client, auth, "grumpy", {"uuids": ["not-a-uuid"]})

    assert query.status_code == 422
    assert query.json == {
        "code": 422,
        "errors": {"json": {"query": ["Unknown field."]}},
        "status": "Unprocessable Entity",
    }
    assert uuids.status_code == 422
    assert uuids.json["errors"] == {"json": {"uuids": {"0": ["Not a valid UUID."]}}}


def test_get_on_post_routes_is_405(data_client: testing.TestClient, auth: Header) -> None:
    for path in ("/dataset/search", "/dataset/readme", "/dataset/register"):
        result = data_client.simulate_get(path, headers=auth("grumpy"))
        assert result.status_code == 405
        assert result.json == {"code": 405, "status": "Method Not Allowed"}


def test_manifest(data_client: testing.TestClient, auth: Header) -> None:
    result = data_client.simulate_post(
        "/dataset/manifest", json={"uri": BAD_APPLES_URI}, headers=auth("grumpy")
    )

    assert result.status_code == 200
    assert result.json == BAD_APPLES_MANIFEST


def test_metadata_routes_answer_400_for_what_cannot_be_read(
    data_client: testing.TestClient, auth: Header
) -> None:
    cases = [
        ("sleepy", {"uri": BAD_APPLES_URI}),  # registered, no permission
        ("snow-white", {"uri": BAD_APPLES_URI}),  # admin, no permission
        ("sleepy", {"uri": f"s3://dontexist/{BAD_APPLES_UUID}"}),  # unknown base URI
        ("grumpy", {"uri": f"s3://dontexist/{BAD_APPLES_UUID}"}),
        ("grumpy", {"uri": "s3://snow-white/dontexist"}),  # unknown URI
        ("grumpy", {}),  # no URI
        ("grumpy", {"uri": ""}),
    ]
    for path in ("/dataset/readme", "/dataset/manifest", "/dataset/annotations"):
        for user, body in cases:
            result = data_client.simulate_post(path, json=body, headers=auth(user))
            assert result.status_code == 400, (path, user, body)
            assert result.json["code"] == 400
            assert result.json["status"] == "Bad Request"


def test_metadata_routes_reject_unknown_keys(
    data_client: testing.TestClient, auth: Header
) -> None:
    result = data_client.simulate_post(
        "/dataset/manifest", json={"broken": BAD_APPLES_URI}, headers=auth("sleepy")
    )

    assert result.status_code == 422
    assert result.json["errors"] == {"json": {"broken": ["Unknown field."]}}


def test_readme_is_a_json_string(data_client: testing.TestClient, auth: Header) -> None:
    result = data_client.simulate_post(
        "/dataset/readme", json={"uri": BAD_APPLES_URI}, headers=auth("grumpy")
    )

    assert result.status_code == 200
    assert result.headers["Content-Type"].startswith("application/json")
    assert result.json == "---\ndescripton: apples from queen"


def test_annotations(data_client: testing.TestClient, auth: Header) -> None:
    result = data_client.simulate_post(
        "/dataset/annotations", json={"uri": ORANGES_URI}, headers=auth("grumpy")
    )

    assert result.json == {"type": "fruit", "only_here": "crazystuff"}


def test_register(users_client: testing.TestClient, auth: Header) -> None:
    refused = users_client.simulate_post(
        "/dataset/register", json=register_body(), headers=auth("sleepy")
    )
    created = users_client.simulate_post(
        "/dataset/register", json=register_body(), headers=auth("grumpy")
    )

    assert refused.status_code == 401
    assert created.status_code == 201
    assert created.json == {"uri": BAD_APPLES_URI}
    readme = users_client.simulate_post(
        "/dataset/readme", json={"uri": BAD_APPLES_URI}, headers=auth("sleepy")
    )
    assert readme.json == "---\ndescription: test dataset"
    (item,) = users_client.simulate_get(
        f"/dataset/lookup/{BAD_APPLES_UUID}", headers=auth("grumpy")
    ).json
    assert item == {
        "base_uri": SNOW_WHITE,
        "uuid": BAD_APPLES_UUID,
        "uri": BAD_APPLES_URI,
        "name": "my-dataset",
        "creator_username": "olssont",
        "frozen_at": FROZEN_AT,
        "created_at": FROZEN_AT,
        "number_of_items": 1,
        "size_in_bytes": 5741810,
    }


def test_reregistering_renames_the_dataset_in_every_listing_at_once(
    users_client: testing.TestClient, auth: Header
) -> None:
    def names() -> list[str]:
        listed = [
            users_client.simulate_get(
                f"/dataset/lookup/{BAD_APPLES_UUID}", headers=auth("grumpy")
            ),
            users_client.simulate_get("/dataset/list", headers=auth("grumpy")),
            search(users_client, auth, "grumpy", {"uuids": [BAD_APPLES_UUID]}),
        ]
        assert {result.headers["Content-Type"] for result in listed} == {"application/json"}
        return [item["name"] for result in listed for item in result.json]

    register = "/dataset/register"
    users_client.simulate_post(register, json=register_body(), headers=auth("grumpy"))
    assert names() == ["my-dataset"] * 3
    assert names() == ["my-dataset"] * 3  # answered again, from the caches

    renamed = register_body(name="renamed")
    assert users_client.simulate_post(register, json=renamed, headers=auth("grumpy")).status == (
        "201 Created"
    )
    assert names() == ["renamed"] * 3


def test_register_with_string_created_at(users_client: testing.TestClient, auth: Header) -> None:
    body = register_body(created_at="1536236399.19497")

    result = users_client.simulate_post("/dataset/register", json=body, headers=auth("grumpy"))
    (item,) = users_client.simulate_get("/dataset/list", headers=auth("grumpy")).json

    assert result.status_code == 201
    assert item["created_at"] == 1536236399.19497


def test_register_accepts_the_readme_example_form(
    users_client: testing.TestClient, auth: Header
) -> None:
    body = register_body(
        frozen_at=1537916653.7,
        created_at=1537802877.62,
        dtoolcore_version="3.7.0",
        readme={"description": "U00096.3 genome", "organism": "Escherichia coli"},
    )

    result = users_client.simulate_post("/dataset/register", json=body, headers=auth("grumpy"))
    readme = users_client.simulate_post(
        "/dataset/readme", json={"uri": BAD_APPLES_URI}, headers=auth("grumpy")
    )
    (hit,) = search(users_client, auth, "grumpy", {}).json

    assert result.status_code == 201
    assert "organism: Escherichia coli" in readme.json
    assert hit["dtoolcore_version"] == "3.7.0"
    assert hit["frozen_at"] == 1537916653.7


def test_register_invalid_info_is_409(users_client: testing.TestClient, auth: Header) -> None:
    partial = {"base_uri": SNOW_WHITE, "uuid": BAD_APPLES_UUID, "uri": BAD_APPLES_URI}
    bodies = [
        partial,
        register_body(type="protodataset"),
        register_body(uuid=BAD_APPLES_UUID.replace("-", "")),
        register_body(uri=f"s3://mr-men/{BAD_APPLES_UUID}"),
        {},
    ]
    for body in bodies:
        result = users_client.simulate_post("/dataset/register", json=body, headers=auth("grumpy"))
        assert result.status_code == 409, body
        assert result.json["status"] == "Conflict"
        assert result.json["message"]


def test_register_invalid_info_is_409_before_permission_401(
    users_client: testing.TestClient, auth: Header
) -> None:
    result = users_client.simulate_post(
        "/dataset/register", json={"base_uri": SNOW_WHITE}, headers=auth("sleepy")
    )

    assert result.status_code == 409


def test_register_needs_register_permission_and_known_base_uri(
    users_client: testing.TestClient, auth: Header
) -> None:
    elsewhere = register_body(base_uri="s3://elsewhere", uri=f"s3://elsewhere/{BAD_APPLES_UUID}")
    cases = [("snow-white", register_body()), ("grumpy", elsewhere), ("sleepy", register_body())]
    for user, body in cases:
        result = users_client.simulate_post("/dataset/register", json=body, headers=auth(user))
        assert result.status_code == 401, user
        assert result.json["status"] == "Unauthorized"


def test_register_schema_violations_are_422(
    users_client: testing.TestClient, auth: Header
) -> None:
    item_key = "e4cc3a7dc281c3d89ed4553293c4b4b110dc9bf3"
    manifest = register_body()["manifest"]
    manifest["items"][item_key]["colour"] = "red"
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (register_body(frozen_at="yesterday"), {"frozen_at": ["Not a valid number."]}),
        (register_body(uuid="nope"), {"uuid": ["Not a valid UUID."]}),
        (register_body(colour="red"), {"colour": ["Unknown field."]}),
        (register_body(tags="rnaseq"), {"tags": ["Not a valid list."]}),
        (register_body(number_of_items="one"), {"number_of_items": ["Not a valid integer."]}),
        (register_body(name=None), {"name": ["Field may not be null."]}),
        (
            register_body(manifest=manifest),
            {"manifest": {"items": {item_key: {"value": {"colour": ["Unknown field."]}}}}},
        ),
    ]
    for body, errors in cases:
        result = users_client.simulate_post("/dataset/register", json=body, headers=auth("grumpy"))
        assert result.status_code == 422, body
        assert result.json["errors"] == {"json": errors}


def test_reregistration_shows_on_every_route(
    data_client: testing.TestClient, auth: Header
) -> None:
    body = register_body(
        name="rotten-apples",
        creator_username="witch",
        readme="---\ndescription: poisoned",
        tags=["poison"],
        annotations={"type": "poison"},
        frozen_at=FROZEN_AT,
    )

    result = data_client.simulate_post("/dataset/register", json=body, headers=auth("grumpy"))

    assert result.status_code == 201
    grumpy = auth("grumpy")
    listed = data_client.simulate_get("/dataset/list", headers=grumpy).json
    assert len(listed) == 3
    assert {item["name"] for item in listed if item["uri"] == BAD_APPLES_URI} == {"rotten-apples"}
    looked_up = data_client.simulate_get(f"/dataset/lookup/{BAD_APPLES_UUID}", headers=grumpy)
    names = {item["base_uri"]: item["name"] for item in looked_up.json}
    assert names == {SNOW_WHITE: "rotten-apples", MR_MEN: "bad-apples"}
    (hit,) = search(data_client, auth, "grumpy", {"free_text": "poisoned"}).json
    assert hit["uri"] == BAD_APPLES_URI
    assert hit["tags"] == ["poison"]
    assert hit["creator_username"] == "witch"
    summary = data_client.simulate_get("/dataset/summary", headers=grumpy).json
    assert summary["datasets_per_creator"] == {"queen": 2, "witch": 1}
    assert summary["datasets_per_tag"] == {"evil": 1, "fruit": 2, "good": 1, "poison": 1}
    readme = data_client.simulate_post(
        "/dataset/readme", json={"uri": BAD_APPLES_URI}, headers=grumpy
    )
    assert readme.json == "---\ndescription: poisoned"
    annotations = data_client.simulate_post(
        "/dataset/annotations", json={"uri": BAD_APPLES_URI}, headers=grumpy
    )
    assert annotations.json == {"type": "poison"}


def test_search_by_annotations_and_annotation_keys(
    data_client: testing.TestClient, auth: Header
) -> None:
    only_here = {"annotations": {"only_here": "crazystuff"}}
    result = search(data_client, auth, "grumpy", only_here)
    assert [hit["name"] for hit in result.json] == ["oranges"]
    assert json.loads(result.headers["X-Pagination"])["total"] == 1
    keyed = search(data_client, auth, "grumpy", {"annotation_keys": ["type"], "tags": ["evil"]})
    assert [hit["name"] for hit in keyed.json] == ["bad-apples", "bad-apples"]
    assert search(data_client, auth, "sleepy", only_here).json == []
    assert search(data_client, auth, "grumpy", {"annotations": {"type": 1}}).json == []


def test_search_rejects_malformed_annotation_filters(
    data_client: testing.TestClient, auth: Header
) -> None:
    result = search(data_client, auth, "grumpy", {"annotations": ["type"]})
    assert result.status_code == 422
    assert result.json["errors"] == {"json": {"annotations": ["Not a valid mapping type."]}}
