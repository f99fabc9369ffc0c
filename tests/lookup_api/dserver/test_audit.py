"""Audit routes: admins read every change, users the history of what they may see."""

from __future__ import annotations

import json

import pytest
from falcon import testing

from lookup_events.store import Stores
from lookup_events.store.audit import AuditQuery
from lookup_events.store.protocols import PageRequest
from tests.support.api import Header
from tests.support.data import BAD_APPLES_UUID, MR_MEN, SNOW_WHITE, bad_apples

APPLES = f"{SNOW_WHITE}/{BAD_APPLES_UUID}"
APPLES_PATH = f"/audit/datasets/s3/snow-white/{BAD_APPLES_UUID}"


def test_changes_made_through_the_api_name_the_caller(
    data_client: testing.TestClient, auth: Header
) -> None:
    info = {**bad_apples(SNOW_WHITE), "tags": ["evil", "fruit", "rotten"]}
    put = data_client.simulate_put(
        f"/uris/s3/snow-white/{BAD_APPLES_UUID}", json=info, headers=auth("grumpy")
    )
    granted = data_client.simulate_post(
        "/users/sleepy/search/s3/mr-men", headers=auth("snow-white")
    )

    history = data_client.simulate_get(APPLES_PATH, headers=auth("grumpy"))
    by_admin = data_client.simulate_get(
        "/audit", params={"user": "snow-white"}, headers=auth("snow-white")
    )

    assert (put.status_code, granted.status_code, history.status_code) == (200, 201, 200)
    newest = history.json[0]
    assert (newest["action"], newest["actor"]) == (
        "updated",
        {"kind": "user", "name": "grumpy", "cause": {}},
    )
    assert newest["changes"] == {"tags": {"added": ["rotten"], "removed": []}}
    assert [e["action"] for e in history.json] == ["updated", "registered"]
    assert json.loads(history.headers["X-Pagination"])["total"] == 2
    # what snow-white did, and what was done to snow-white (added, unattributed)
    assert [(e["subject_kind"], e["action"], e["subject"]) for e in by_admin.json] == [
        ("permission", "granted", MR_MEN),
        ("user", "added", "snow-white"),
    ]
    assert by_admin.json[1]["actor"]["kind"] == "system"
    assert by_admin.json[0]["changes"] == {"user": "sleepy", "permission": "search"}


def test_the_admin_trail_filters_by_dataset_and_time_and_pages(
    data_client: testing.TestClient, auth: Header, stores: Stores
) -> None:
    admin = auth("snow-white")
    everything = data_client.simulate_get("/audit", params={"page_size": 100}, headers=admin)
    at = everything.json[-1]["at"]

    one = data_client.simulate_get("/audit", params={"uri": APPLES}, headers=admin)
    none_yet = data_client.simulate_get("/audit", params={"until": str(at - 1)}, headers=admin)
    page = data_client.simulate_get("/audit", params={"page": 2, "page_size": 2}, headers=admin)

    stored = stores.audit.entries(AuditQuery(), PageRequest(1, 100)).total
    assert (
        json.loads(everything.headers["X-Pagination"])["total"] == stored == len(everything.json)
    )
    assert [e["subject"] for e in one.json] == [APPLES]
    assert none_yet.status_code == 200 and none_yet.json == []
    assert page.json == everything.json[2:4]
    assert everything.json == sorted(everything.json, key=lambda e: e["at"], reverse=True)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"since": "yesterday"}, "since", "ISO 8601"),
        ({"until": "nan"}, "until", "finite"),
        ({"since": "200", "until": "100"}, "until", "ends before it begins"),
        ({"users": "grumpy"}, "users", "Unknown parameter"),
        ({"user": ["a", "b"]}, "user", "once"),
        ({"uri": ""}, "uri", "Not a value"),
        ({"uri": "s3://[x"}, "uri", "Not a valid URI"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(
    data_client: testing.TestClient,
    auth: Header,
    params: dict[str, object],
    field: str,
    message: str,
) -> None:
    result = data_client.simulate_get("/audit", params=params, headers=auth("snow-white"))

    assert result.status_code == 400
    assert message in result.json["errors"]["query"][field][0]


def test_only_admins_read_the_whole_trail(data_client: testing.TestClient, auth: Header) -> None:
    assert data_client.simulate_get("/audit", headers=auth("grumpy")).status_code == 403
    assert data_client.simulate_get("/audit").status_code == 401


def test_a_dataset_history_is_404_to_whoever_may_not_search_it(
    data_client: testing.TestClient, auth: Header
) -> None:
    hidden = data_client.simulate_get(APPLES_PATH, headers=auth("sleepy"))
    unknown = data_client.simulate_get(
        "/audit/datasets/s3/snow-white/nothing", headers=auth("grumpy")
    )
    bad_time = data_client.simulate_get(
        APPLES_PATH, params={"since": "soon"}, headers=auth("grumpy")
    )
    foreign_filter = data_client.simulate_get(
        APPLES_PATH, params={"user": "grumpy"}, headers=auth("grumpy")
    )

    assert hidden.status_code == 404
    assert "may see" in hidden.json["message"]
    assert unknown.status_code == 404
    assert (bad_time.status_code, foreign_filter.status_code) == (400, 400)


def test_a_removed_dataset_keeps_its_history(
    data_client: testing.TestClient, auth: Header
) -> None:
    deleted = data_client.simulate_delete(
        f"/uris/s3/snow-white/{BAD_APPLES_UUID}", headers=auth("grumpy")
    )

    history = data_client.simulate_get(APPLES_PATH, headers=auth("grumpy"))

    assert deleted.status_code == 200
    assert history.json[0]["action"] == "removed"
    assert history.json[0]["actor"]["name"] == "grumpy"
