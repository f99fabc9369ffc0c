"""The ``/admin/*`` routes, ported from the anchor's admin, base URI and permission tests."""

from __future__ import annotations

import json
import socket

from falcon import testing

from lookup_events.store import Stores
from tests.support.api import Header
from tests.support.data import SNOW_WHITE

PERMISSIONS = "/admin/permission/update_on_base_uri"


def test_register_users_is_idempotent(
    users_client: testing.TestClient, auth: Header, stores: Stores
) -> None:
    body = [{"username": "evil-witch", "is_admin": True}, {"username": "dopey"}]

    first = users_client.simulate_post(
        "/admin/user/register", json=body, headers=auth("snow-white")
    )
    again = users_client.simulate_post(
        "/admin/user/register", json=body, headers=auth("snow-white")
    )

    assert first.status_code == 201
    assert first.json == {}
    assert again.status_code == 201
    witch, dopey = stores.admin.get_user("evil-witch"), stores.admin.get_user("dopey")
    assert witch is not None and witch.is_admin
    assert dopey is not None and not dopey.is_admin


def test_register_users_keeps_existing_admin_flags(
    users_client: testing.TestClient, auth: Header, stores: Stores
) -> None:
    body = [{"username": "grumpy", "is_admin": True}, {"username": "snow-white"}]

    result = users_client.simulate_post(
        "/admin/user/register", json=body, headers=auth("snow-white")
    )

    assert result.status_code == 201
    grumpy, snow_white = stores.admin.get_user("grumpy"), stores.admin.get_user("snow-white")
    assert grumpy is not None and not grumpy.is_admin
    assert snow_white is not None and snow_white.is_admin


def test_register_users_validates_the_list(users_client: testing.TestClient, auth: Header) -> None:
    cases = [
        ({"username": "dopey"}, {"_schema": ["Invalid input type."]}),
        ([{"is_admin": True}], {"0": {"username": ["Missing data for required field."]}}),
        ([{"username": "dopey", "email": "d@x"}], {"0": {"email": ["Unknown field."]}}),
        (["dopey"], {"0": {"_schema": ["Invalid input type."]}}),
        ([{"username": 7}], {"0": {"username": ["Not a valid string."]}}),
    ]
    for body, errors in cases:
        result = users_client.simulate_post(
            "/admin/user/register", json=body, headers=auth("snow-white")
        )
        assert result.status_code == 422, body
        assert result.json["errors"] == {"json": errors}


def test_empty_user_list_registers_nobody(users_client: testing.TestClient, auth: Header) -> None:
    result = users_client.simulate_post(
        "/admin/user/register", json=[], headers=auth("snow-white")
    )

    assert result.status_code == 201


def test_admin_routes_hide_behind_404(users_client: testing.TestClient, auth: Header) -> None:
    requests = [
        ("POST", "/admin/user/register", [{"username": "dopey"}]),
        ("GET", "/admin/user/list", None),
        ("POST", "/admin/base_uri/register", {"base_uri": "s3://x"}),
        ("GET", "/admin/base_uri/list", None),
        ("POST", "/admin/permission/info", {"base_uri": SNOW_WHITE}),
        (
            "POST",
            PERMISSIONS,
            {
                "base_uri": SNOW_WHITE,
                "users_with_search_permissions": [],
                "users_with_register_permissions": [],
            },
        ),
    ]
    for method, path, body in requests:
        for user in ("grumpy", "noone"):
            result = users_client.simulate_request(method, path, json=body, headers=auth(user))
            assert result.status_code == 404, (path, user)
            assert result.json["code"] == 404
            assert result.json["status"] == "Not Found"


def test_list_users(users_client: testing.TestClient, auth: Header) -> None:
    result = users_client.simulate_get("/admin/user/list", headers=auth("snow-white"))

    assert result.status_code == 200
    assert result.json == [
        {"id": 1, "is_admin": True, "username": "snow-white"},
        {"id": 2, "is_admin": False, "username": "grumpy"},
        {"id": 3, "is_admin": False, "username": "sleepy"},
    ]
    assert json.loads(result.headers["X-Pagination"]) == {
        "total": 3,
        "total_pages": 1,
        "first_page": 1,
        "last_page": 1,
        "page": 1,
    }


def test_list_users_pages(users_client: testing.TestClient, auth: Header) -> None:
    second = users_client.simulate_get(
        "/admin/user/list", params={"page": 2, "page_size": 2}, headers=auth("snow-white")
    )
    beyond = users_client.simulate_get(
        "/admin/user/list", params={"page": 3, "page_size": 2}, headers=auth("snow-white")
    )

    assert second.json == [{"id": 3, "is_admin": False, "username": "sleepy"}]
    assert json.loads(second.headers["X-Pagination"]) == {
        "total": 3,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 2,
        "previous_page": 1,
    }
    assert beyond.status_code == 404
    assert beyond.json["status"] == "Not Found"


def test_register_base_uri_is_idempotent(users_client: testing.TestClient, auth: Header) -> None:
    body = {"base_uri": "s3://snow-white-again"}

    first = users_client.simulate_post(
        "/admin/base_uri/register", json=body, headers=auth("snow-white")
    )
    again = users_client.simulate_post(
        "/admin/base_uri/register", json=body, headers=auth("snow-white")
    )
    listed = users_client.simulate_get("/admin/base_uri/list", headers=auth("snow-white"))

    assert first.status_code == 201
    assert again.status_code == 201
    assert listed.json == [{"base_uri": SNOW_WHITE}, {"base_uri": "s3://snow-white-again"}]


def test_register_base_uri_normalises(users_client: testing.TestClient, auth: Header) -> None:
    for base_uri in ("/scratch/data", "/scratch/data/", "s3://bucket/", "s3://bucket"):
        result = users_client.simulate_post(
            "/admin/base_uri/register", json={"base_uri": base_uri}, headers=auth("snow-white")
        )
        assert result.status_code == 201

    listed = users_client.simulate_get("/admin/base_uri/list", headers=auth("snow-white"))

    host = socket.gethostname()
    assert listed.json == [
        {"base_uri": SNOW_WHITE},
        {"base_uri": f"file://{host}/scratch/data"},
        {"base_uri": "s3://bucket"},
    ]


def test_register_base_uri_needs_one(users_client: testing.TestClient, auth: Header) -> None:
    cases = [
        ({}, {"base_uri": ["Missing data for required field."]}),
        ({"base_uri": "s3://x", "extra": 1}, {"extra": ["Unknown field."]}),
        ({"base_uri": ["s3://x"]}, {"base_uri": ["Not a valid string."]}),
    ]
    for body, errors in cases:
        result = users_client.simulate_post(
            "/admin/base_uri/register", json=body, headers=auth("snow-white")
        )
        assert result.status_code == 422
        assert result.json["errors"] == {"json": errors}


def test_base_uri_list_beyond_range_is_404(data_client: testing.TestClient, auth: Header) -> None:
    first = data_client.simulate_get("/admin/base_uri/list", headers=auth("snow-white"))
    beyond = data_client.simulate_get(
        "/admin/base_uri/list", params={"page": 2}, headers=auth("snow-white")
    )

    assert len(first.json) == 2
    assert beyond.status_code == 404


def test_permission_info(users_client: testing.TestClient, auth: Header) -> None:
    result = users_client.simulate_post(
        "/admin/permission/info", json={"base_uri": SNOW_WHITE}, headers=auth("snow-white")
    )

    assert result.status_code == 200
    assert result.json == {
        "base_uri": SNOW_WHITE,
        "users_with_search_permissions": ["grumpy", "sleepy"],
        "users_with_register_permissions": ["grumpy"],
    }


def test_permission_info_on_unknown_base_uri_is_404(
    users_client: testing.TestClient, auth: Header
) -> None:
    result = users_client.simulate_post(
        "/admin/permission/info", json={"base_uri": "s3://nowhere"}, headers=auth("snow-white")
    )
    missing = users_client.simulate_post(
        "/admin/permission/info", json={}, headers=auth("snow-white")
    )

    assert result.status_code == 404
    assert missing.status_code == 422


def test_update_permissions_replaces_both_lists(
    users_client: testing.TestClient, auth: Header
) -> None:
    body = {
        "base_uri": SNOW_WHITE,
        "users_with_search_permissions": ["sleepy", "nobody"],
        "users_with_register_permissions": [],
    }

    result = users_client.simulate_post(PERMISSIONS, json=body, headers=auth("snow-white"))
    info = users_client.simulate_post(
        "/admin/permission/info", json={"base_uri": SNOW_WHITE}, headers=auth("snow-white")
    )

    assert result.status_code == 201
    assert info.json == {
        "base_uri": SNOW_WHITE,
        "users_with_search_permissions": ["sleepy"],
        "users_with_register_permissions": [],
    }
    grumpy = users_client.simulate_get("/user/info/grumpy", headers=auth("grumpy")).json
    assert grumpy["search_permissions_on_base_uris"] == []


def test_update_permissions_errors(users_client: testing.TestClient, auth: Header) -> None:
    unknown = {
        "base_uri": "s3://nowhere",
        "users_with_search_permissions": [],
        "users_with_register_permissions": [],
    }
    missing = {"base_uri": SNOW_WHITE, "users_with_search_permissions": []}

    unknown_result = users_client.simulate_post(
        PERMISSIONS, json=unknown, headers=auth("snow-white")
    )
    missing_result = users_client.simulate_post(
        PERMISSIONS, json=missing, headers=auth("snow-white")
    )

    assert unknown_result.status_code == 404
    assert missing_result.status_code == 422
    assert missing_result.json["errors"] == {
        "json": {"users_with_register_permissions": ["Missing data for required field."]}
    }
