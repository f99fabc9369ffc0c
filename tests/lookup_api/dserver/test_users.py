"""dserver user routes: ``/me``, ``/users`` and per-user permissions.

Ported from dservercore 0.22's test_me_routes.py and test_user_routes.py, plus
HEAD's permission routes (``/users/<name>/search|register/<base_uri>``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from falcon import testing

from tests.support.api import Header
from tests.support.data import MR_MEN, SNOW_WHITE, register_body

ZERO_SUMMARY: dict[str, Any] = {
    "number_of_datasets": 0,
    "creator_usernames": [],
    "base_uris": [],
    "datasets_per_creator": {},
    "datasets_per_base_uri": {},
    "tags": [],
    "datasets_per_tag": {},
    "total_size_in_bytes": 0,
    "size_in_bytes_per_creator": {},
    "size_in_bytes_per_base_uri": {},
    "size_in_bytes_per_tag": {},
}
GRUMPY_SUMMARY: dict[str, Any] = {
    "number_of_datasets": 3,
    "creator_usernames": ["queen"],
    "base_uris": [MR_MEN, SNOW_WHITE],
    "datasets_per_creator": {"queen": 3},
    "datasets_per_base_uri": {MR_MEN: 1, SNOW_WHITE: 2},
    "tags": ["evil", "fruit", "good"],
    "datasets_per_tag": {"evil": 2, "fruit": 3, "good": 1},
    "total_size_in_bytes": 11483620,
    "size_in_bytes_per_creator": {"queen": 11483620},
    "size_in_bytes_per_base_uri": {MR_MEN: 5741810, SNOW_WHITE: 5741810},
    "size_in_bytes_per_tag": {"evil": 11483620, "fruit": 11483620, "good": 0},
}


LEGACY_SUMMARY_KEYS = (
    "number_of_datasets",
    "creator_usernames",
    "base_uris",
    "datasets_per_creator",
    "datasets_per_base_uri",
    "tags",
    "datasets_per_tag",
)
NEW_UUID = "2e0a7fa6-3d41-4d6b-9d8a-5e3c2b1a0f99"


def user(
    name: str, admin: bool = False, search: tuple[str, ...] = (), register: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "username": name,
        "is_admin": admin,
        "search_permissions_on_base_uris": list(search),
        "register_permissions_on_base_uris": list(register),
    }


def test_me(data_client: testing.TestClient, auth: Header) -> None:
    both = (SNOW_WHITE, MR_MEN)

    assert data_client.simulate_get("/me", headers=auth("snow-white")).json == user(
        "snow-white", True
    )
    assert data_client.simulate_get("/me", headers=auth("grumpy")).json == user(
        "grumpy", False, both, both
    )
    assert data_client.simulate_get("/me", headers=auth("noone")).status_code == 401


def test_my_summary(data_client: testing.TestClient, auth: Header) -> None:
    for name in ("snow-white", "sleepy"):
        assert data_client.simulate_get("/me/summary", headers=auth(name)).json == ZERO_SUMMARY
    assert data_client.simulate_get("/me/summary", headers=auth("grumpy")).json == GRUMPY_SUMMARY
    for name in ("dopey", "noone"):
        assert data_client.simulate_get("/me/summary", headers=auth(name)).status_code == 401


def test_user_summary(data_client: testing.TestClient, auth: Header) -> None:
    own = data_client.simulate_get("/users/grumpy/summary", headers=auth("grumpy"))
    by_admin = data_client.simulate_get("/users/grumpy/summary", headers=auth("snow-white"))
    other = data_client.simulate_get("/users/grumpy/summary", headers=auth("sleepy"))
    unregistered = data_client.simulate_get("/users/grumpy/summary", headers=auth("dopey"))
    unknown = data_client.simulate_get("/users/dopey/summary", headers=auth("snow-white"))

    assert own.json == GRUMPY_SUMMARY
    assert by_admin.json == GRUMPY_SUMMARY
    assert other.status_code == 403
    assert unregistered.status_code == 401
    assert unknown.status_code == 404


def test_both_summaries_follow_a_registration_each_in_its_shape(
    data_client: testing.TestClient, auth: Header
) -> None:
    grumpy = auth("grumpy")
    legacy = {key: GRUMPY_SUMMARY[key] for key in LEGACY_SUMMARY_KEYS}
    for _ in range(2):  # the second time from what the first remembered
        assert data_client.simulate_get("/dataset/summary", headers=grumpy).json == legacy
        assert data_client.simulate_get("/me/summary", headers=grumpy).json == GRUMPY_SUMMARY

    body = register_body(uuid=NEW_UUID, uri=f"{SNOW_WHITE}/{NEW_UUID}", creator_username="king")
    assert data_client.simulate_post("/dataset/register", json=body, headers=grumpy).status == (
        "201 Created"
    )

    after = data_client.simulate_get("/me/summary", headers=grumpy).json
    old_shape = data_client.simulate_get("/dataset/summary", headers=grumpy).json
    assert after["number_of_datasets"] == old_shape["number_of_datasets"] == 4
    assert (
        after["datasets_per_creator"]
        == old_shape["datasets_per_creator"]
        == {
            "king": 1,
            "queen": 3,
        }
    )
    assert old_shape.keys() == set(LEGACY_SUMMARY_KEYS)
    assert after.keys() == GRUMPY_SUMMARY.keys()


def test_get_user(data_client: testing.TestClient, auth: Header) -> None:
    assert data_client.simulate_get("/users/sleepy", headers=auth("sleepy")).json == user("sleepy")
    assert data_client.simulate_get("/users/sleepy", headers=auth("snow-white")).json == user(
        "sleepy"
    )
    assert data_client.simulate_get("/users/dopey", headers=auth("snow-white")).status_code == 404
    assert data_client.simulate_get("/users/grumpy", headers=auth("sleepy")).status_code == 403
    assert data_client.simulate_get("/users/grumpy", headers=auth("dopey")).status_code == 401


def test_put_user(users_client: testing.TestClient, auth: Header) -> None:
    admin = auth("snow-white")

    promoted = users_client.simulate_put("/users/grumpy", json={"is_admin": True}, headers=admin)
    assert promoted.status_code == 200
    assert promoted.json["is_admin"] is True
    reset = users_client.simulate_put("/users/grumpy", json={}, headers=admin)
    assert reset.status_code == 200
    assert reset.json["is_admin"] is False
    created = users_client.simulate_put(
        "/users/dopey", json={"username": "dopey", "is_admin": True}, headers=admin
    )
    assert created.status_code == 201
    assert users_client.simulate_get("/users/dopey", headers=admin).json == user("dopey", True)
    no_body = users_client.simulate_put("/users/doc", headers=admin)
    assert no_body.status_code == 201
    assert (
        users_client.simulate_put("/users/x", json={}, headers=auth("sleepy")).status_code == 403
    )
    assert users_client.simulate_put("/users/x", json={}, headers=auth("noone")).status_code == 401
    bad = users_client.simulate_put("/users/x", json={"email": "x@y"}, headers=admin)
    assert bad.status_code == 422


def test_delete_user(users_client: testing.TestClient, auth: Header) -> None:
    admin = auth("snow-white")

    assert users_client.simulate_delete("/users/grumpy", headers=auth("sleepy")).status_code == 403
    assert users_client.simulate_delete("/users/grumpy", headers=auth("noone")).status_code == 401
    assert users_client.simulate_delete("/users/grumpy", headers=admin).status_code == 200
    assert users_client.simulate_delete("/users/grumpy", headers=admin).status_code == 200
    assert users_client.simulate_get("/users/grumpy", headers=admin).status_code == 404
    assert users_client.simulate_get("/me", headers=auth("grumpy")).status_code == 401
    permissions = users_client.simulate_get("/base-uris/s3/snow-white", headers=admin).json
    assert permissions["users_with_search_permissions"] == ["sleepy"]


def test_list_users(users_client: testing.TestClient, auth: Header) -> None:
    admin = auth("snow-white")

    listed = users_client.simulate_get("/users", headers=admin)
    reordered = users_client.simulate_get(
        "/users", query_string="sort=-is_admin,-username", headers=admin
    )

    # dservercore main's shape (0.22 listed username and is_admin only): the web app's user
    # management reads the permission lists from here.
    assert listed.json == [
        {
            "is_admin": False,
            "username": "grumpy",
            "search_permissions_on_base_uris": ["s3://snow-white"],
            "register_permissions_on_base_uris": ["s3://snow-white"],
        },
        {
            "is_admin": False,
            "username": "sleepy",
            "search_permissions_on_base_uris": ["s3://snow-white"],
            "register_permissions_on_base_uris": [],
        },
        {
            "is_admin": True,
            "username": "snow-white",
            "search_permissions_on_base_uris": [],
            "register_permissions_on_base_uris": [],
        },
    ]
    assert json.loads(listed.headers["X-Sort"]) == {"sort": {"username": 1}}
    assert [u["username"] for u in reordered.json] == ["snow-white", "sleepy", "grumpy"]
    assert users_client.simulate_get("/users", headers=auth("grumpy")).status_code == 403
    assert users_client.simulate_get("/users", headers=auth("noone")).status_code == 401
    beyond = users_client.simulate_get("/users", query_string="page=2", headers=admin)
    assert beyond.status_code == 404
    bad_sort = users_client.simulate_get("/users", query_string="sort=uri", headers=admin)
    assert bad_sort.status_code == 422


@pytest.mark.parametrize("kind", ["search", "register"])
def test_grant_and_revoke_permissions(
    users_client: testing.TestClient, auth: Header, kind: str
) -> None:
    admin = auth("snow-white")
    field = f"{kind}_permissions_on_base_uris"
    path = f"/users/sleepy/{kind}/s3/snow-white"
    users_client.simulate_delete(path, headers=admin)

    granted = users_client.simulate_post(path, headers=admin)
    again = users_client.simulate_post(path, headers=admin)
    revoked = users_client.simulate_delete(path, headers=admin)
    revoked_again = users_client.simulate_delete(path.replace("s3/", "s3:%2F%2F"), headers=admin)

    assert granted.status_code == 201
    assert granted.json[field] == [SNOW_WHITE]
    assert again.status_code == 200
    assert again.json[field] == [SNOW_WHITE]
    assert revoked.status_code == 200
    assert revoked.json[field] == []
    assert revoked_again.status_code == 200
    assert users_client.simulate_post(path, headers=auth("grumpy")).status_code == 403
    assert users_client.simulate_post(path, headers=auth("noone")).status_code == 401
    for missing in (f"/users/dopey/{kind}/s3/snow-white", f"/users/sleepy/{kind}/s3/nowhere"):
        assert users_client.simulate_post(missing, headers=admin).status_code == 404
        assert users_client.simulate_delete(missing, headers=admin).status_code == 404
