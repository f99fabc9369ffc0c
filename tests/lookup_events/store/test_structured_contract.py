"""Structured queries: the same datasets on every dataset-store backend.

Runs on SQLite, PostgreSQL, mongomock and (with ``DTOOL_LOOKUP_TEST_MONGO_URI``)
a real MongoDB, like the DatasetStore contract. Each case of
``tests.support.structured_cases`` is a filter and the datasets MongoDB's own
semantics find; ``zeta`` lies outside the base URIs asked for and is never
found, whatever it matches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lookup_events.store import Stores
from lookup_events.store.protocols import PageRequest, SortKey
from lookup_events.store.structured import StructuredQuery, parse_filter
from tests.support.data import MR_MEN
from tests.support.stores import StoreBackend
from tests.support.structured_cases import CASES, MONGOMOCK_DEVIATIONS, VISIBLE, records

ALL = PageRequest(1, 1000)


@pytest.fixture
def stores(backend: StoreBackend) -> Iterator[Stores]:
    """Open stores holding the contract's six datasets on each backend."""
    opened = backend.open()
    opened.datasets.upsert_many(records())
    yield opened
    opened.close()


def found(stores: Stores, document: dict[str, Any], base_uris: tuple[str, ...] = VISIBLE) -> str:
    """Return the names a filter finds, space-separated, checking the total."""
    query = StructuredQuery(base_uris, parse_filter(document))
    page = stores.datasets.structured_search(query, ALL)
    assert page.total == len(page.items)
    return " ".join(entry.name for entry in page.items)


@pytest.mark.parametrize(("document", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_a_filter_finds_what_mongodb_finds(
    stores: Stores, document: dict[str, Any], expected: str, dataset_backend: str
) -> None:
    if dataset_backend == "mongomock" and json.dumps(document) in MONGOMOCK_DEVIATIONS:
        pytest.xfail("mongomock answers this unlike MongoDB (a real server runs it)")
    assert found(stores, document) == expected


def test_only_the_base_uris_asked_for_are_searched(stores: Stores) -> None:
    assert found(stores, {"tags": "red"}, (MR_MEN,)) == "delta"
    assert found(stores, {}, ()) == ""


def test_pages_follow_registration_order(stores: Stores) -> None:
    query = StructuredQuery(VISIBLE, parse_filter({}))
    second = stores.datasets.structured_search(query, PageRequest(2, 2))
    assert [entry.name for entry in second.items] == ["gamma", "delta"]
    assert second.total == 5


def test_a_re_registered_dataset_is_found_by_its_new_values(stores: Stores) -> None:
    alpha = records()[0]
    changed = type(alpha)(alpha.entry, "---\nproject: plums\n", alpha.manifest, {})
    stores.datasets.upsert(changed)
    assert found(stores, {"readme.project": "plums"}) == "alpha"
    assert found(stores, {"readme.project": "apples"}) == ""
    assert found(stores, {"annotations.species": "apple"}) == "delta"


def test_a_deleted_dataset_is_not_found(stores: Stores) -> None:
    stores.datasets.delete(records()[3].uri)
    assert found(stores, {"tags": "red"}) == "alpha"


def test_a_sort_orders_the_matches(stores: Stores) -> None:
    query = StructuredQuery(VISIBLE, parse_filter({"tags": {"$exists": True}}))
    page = stores.datasets.structured_search(query, ALL, (SortKey("name", descending=True),))
    assert [entry.name for entry in page.items] == ["gamma", "epsilon", "delta", "beta", "alpha"]
