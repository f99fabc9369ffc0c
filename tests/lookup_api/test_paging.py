"""Pagination: flask-smorest's parameters, limits and ``X-Pagination`` header."""

from __future__ import annotations

import json

from falcon import testing

from lookup_api.paging import metadata
from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.protocols import PageRequest
from tests.support.api import Header
from tests.support.data import SNOW_WHITE, make_info


def test_metadata_matches_flask_smorest() -> None:
    assert metadata(PageRequest(1, 10), 0) == {"total": 0, "total_pages": 0}
    assert metadata(PageRequest(1, 10), 15) == {
        "total": 15,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 1,
        "next_page": 2,
    }
    assert metadata(PageRequest(3, 2), 3) == {
        "total": 3,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
    }


def _load(stores: Stores, count: int) -> None:
    stores.admin.add_user("grumpy")
    stores.admin.add_base_uri(SNOW_WHITE)
    stores.admin.set_permissions(SNOW_WHITE, search=["grumpy"], register=[])
    stores.datasets.upsert_many([record_from_info(make_info(i, SNOW_WHITE)) for i in range(count)])


def test_dataset_pages(client: testing.TestClient, stores: Stores, auth: Header) -> None:
    _load(stores, 25)
    grumpy = auth("grumpy")

    default = client.simulate_get("/dataset/list", headers=grumpy)
    middle = client.simulate_post(
        "/dataset/search", params={"page": 2, "page_size": 10}, json={}, headers=grumpy
    )
    last = client.simulate_get("/dataset/list", params={"page": 3}, headers=grumpy)
    beyond = client.simulate_get("/dataset/list", params={"page": 4}, headers=grumpy)

    assert len(default.json) == 10
    assert default.headers["X-Pagination"] == json.dumps(
        {"total": 25, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 1, "next_page": 2}
    )
    assert len(middle.json) == 10
    assert json.loads(middle.headers["X-Pagination"])["previous_page"] == 1
    assert json.loads(middle.headers["X-Pagination"])["next_page"] == 3
    assert len(last.json) == 5
    assert "next_page" not in json.loads(last.headers["X-Pagination"])
    assert beyond.status_code == 200
    assert beyond.json == []
    assert json.loads(beyond.headers["X-Pagination"]) == {
        "total": 25,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
    }
    names = [item["name"] for page in (default, middle, last) for item in page.json]
    assert len(set(names)) == 25


def test_page_size_limits(client: testing.TestClient, stores: Stores, auth: Header) -> None:
    _load(stores, 101)

    largest = client.simulate_get(
        "/dataset/list", params={"page_size": 100}, headers=auth("grumpy")
    )

    assert len(largest.json) == 100


def test_bad_page_parameters_are_422_before_authentication(client: testing.TestClient) -> None:
    size_message = "Must be greater than or equal to 1 and less than or equal to 100."
    page_message = f"Must be greater than or equal to 1 and less than or equal to {2**31 - 1}."
    cases = [
        ({"page": "0"}, {"page": [page_message]}),
        ({"page": str(2**31)}, {"page": [page_message]}),
        ({"page_size": "0"}, {"page_size": [size_message]}),
        ({"page_size": "101"}, {"page_size": [size_message]}),
        ({"page": "two"}, {"page": ["Not a valid integer."]}),
        ({"page": "1.5"}, {"page": ["Not a valid integer."]}),
        ({"page": ""}, {"page": ["Not a valid integer."]}),
        (
            {"page": "9" * 400, "page_size": "-1"},
            {"page": ["Not a valid integer."], "page_size": [size_message]},
        ),
    ]
    for path in ("/dataset/list", "/dataset/lookup/x", "/admin/user/list", "/admin/base_uri/list"):
        for params, errors in cases:
            result = client.simulate_get(path, params=params)
            assert result.status_code == 422, (path, params)
            assert result.json == {
                "code": 422,
                "errors": {"query": errors},
                "status": "Unprocessable Entity",
            }


def test_repeated_pages_follow_the_total_as_it_changes(
    client: testing.TestClient, stores: Stores, auth: Header
) -> None:
    _load(stores, 3)

    def header() -> dict[str, int]:
        reply = client.simulate_get("/dataset/list?page=2&page_size=2", headers=auth("grumpy"))
        return dict(json.loads(reply.headers["X-Pagination"]))

    assert header() == header() == metadata(PageRequest(2, 2), 3)
    stores.datasets.upsert(record_from_info(make_info(3, SNOW_WHITE)))
    assert header() == metadata(PageRequest(2, 2), 4)
    stores.datasets.upsert(record_from_info(make_info(4, SNOW_WHITE)))
    assert header()["next_page"] == 3
