"""What a user may see is all a count ever counts: planted text cannot widen it.

A user who may register in one base URI writes READMEs holding the index
terms of another base URI (``store.text.filter_term``), its creator's and
its tags'. Every route that counts (totals and pages of both search
generations, summaries, the annotation-filter plugin's counts and facets)
must still count only the datasets the searching user may see.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from falcon import testing

from lookup_events.config import Settings
from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.text import filter_term
from tests.support.api import Header, client_for
from tests.support.data import make_info

VISIBLE = "s3://seen-bucket"
HIDDEN = "s3://unseen-bucket"
OTHER = "s3://other-bucket"
HONEST = 4
PLANTED = 12


def _plant(stores: Stores) -> None:
    """``reader`` may search VISIBLE; ``planter`` registers the planted ones in HIDDEN."""
    stores.admin.add_user("reader")
    stores.admin.add_user("planter")
    for base_uri in (VISIBLE, HIDDEN, OTHER):
        stores.admin.add_base_uri(base_uri)
    stores.admin.set_permissions(VISIBLE, search=["reader"], register=[])
    stores.admin.set_permissions(HIDDEN, search=["planter"], register=["planter"])
    honest = [make_info(n, VISIBLE) for n in range(HONEST)]
    for info in honest:
        info["readme"] = "kiwi"
    forged_terms = " ".join(
        [filter_term("base_uri", VISIBLE), filter_term("creator", "user0")]
        + [filter_term("tag", tag) for tag in ("tag0", "tag1", "tag2")]
    )
    planted = [make_info(100 + n, HIDDEN) for n in range(PLANTED)]
    for info in planted:
        info["readme"] = f"kiwi {forged_terms}"
    stores.datasets.upsert_many([record_from_info(i) for i in honest + planted])
    stores.datasets.upsert(record_from_info(make_info(200, OTHER)))  # not every one visible


@pytest.fixture
def planted(settings: Settings, stores: Stores) -> testing.TestClient:
    """An app over stores holding planted READMEs."""
    _plant(stores)
    return client_for(settings, stores)


def _total(result: testing.Result) -> int:
    assert result.status_code == 200, result.text
    total: int = json.loads(result.headers["X-Pagination"])["total"]
    return total


CRITERIA: list[dict[str, Any]] = [
    {"free_text": "kiwi"},
    {"free_text": "kiwi", "base_uris": [VISIBLE]},
    {"free_text": "kiwi", "creator_usernames": ["user0"]},
    {"free_text": "kiwi", "tags": ["tag0"]},
]


@pytest.mark.parametrize("criteria", CRITERIA)
def test_every_count_agrees_with_the_visible_rows(
    planted: testing.TestClient, auth: Header, criteria: dict[str, Any]
) -> None:
    headers = auth("reader")
    page = {"page_size": 100}
    legacy = planted.simulate_post("/dataset/search", json=criteria, headers=headers, params=page)
    visible = legacy.json
    assert {hit["base_uri"] for hit in visible} <= {VISIBLE}
    count = len(visible)
    assert _total(legacy) == count
    assert _total(planted.simulate_post("/uris", json=criteria, headers=headers)) == count
    query = {key: value for key, value in criteria.items()}
    assert _total(planted.simulate_get("/uris", params=query, headers=headers)) == count
    plugin = "/annotation_filter_plugin"
    assert planted.simulate_post(
        f"{plugin}/num_datasets", json=criteria, headers=headers
    ).json == (count)
    keys = planted.simulate_post(f"{plugin}/annotation_keys", json=criteria, headers=headers)
    assert keys.json.get("index", 0) == count
    datasets = planted.simulate_post(f"{plugin}/datasets", json=criteria, headers=headers)
    assert _total(datasets) == count


def test_the_free_text_total_is_the_honest_datasets(
    planted: testing.TestClient, auth: Header
) -> None:
    result = planted.simulate_post(
        "/dataset/search", json={"free_text": "kiwi"}, headers=auth("reader")
    )
    assert _total(result) == HONEST
    pages = json.loads(result.headers["X-Pagination"])["total_pages"]
    assert pages == 1


def test_summaries_count_only_visible_datasets(planted: testing.TestClient, auth: Header) -> None:
    legacy = planted.simulate_get("/dataset/summary", headers=auth("reader")).json
    assert legacy["number_of_datasets"] == HONEST
    assert set(legacy["base_uris"]) == {VISIBLE}
    mine = planted.simulate_get("/me/summary", headers=auth("reader")).json
    assert mine["number_of_datasets"] == HONEST


def test_planted_terms_do_not_pass_filters_in_the_planters_own_base_uri(
    planted: testing.TestClient, auth: Header
) -> None:
    result = planted.simulate_post(
        "/dataset/search",
        json={"free_text": "kiwi", "base_uris": [HIDDEN], "tags": ["tag0"]},
        headers=auth("planter"),
    )
    expected = sum("tag0" in make_info(n, HIDDEN)["tags"] for n in range(100, 100 + PLANTED))
    assert _total(result) == expected
