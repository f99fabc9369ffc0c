"""Annotation facets and filters: the same answers on every dataset-store backend.

Runs on SQLite, PostgreSQL, mongomock and (with ``DTOOL_LOOKUP_TEST_MONGO_URI``)
a real MongoDB, like the DatasetStore contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.annotations import annotation_value
from lookup_events.store.protocols import PageRequest, SearchQuery
from tests.support.data import MR_MEN, SNOW_WHITE, make_info
from tests.support.stores import StoreBackend

BOTH = (SNOW_WHITE, MR_MEN)
ALL = PageRequest(1, 1000)
ANNOTATIONS: list[tuple[str, dict[str, Any]]] = [
    (SNOW_WHITE, {"species": "apple", "count": 3, "ripe": True, "nested": {"a": 1}}),
    (SNOW_WHITE, {"species": "pear", "count": 3.0, "ripe": False}),
    (SNOW_WHITE, {"species": "apple", "count": "3", "list": [1, 2]}),
    (MR_MEN, {"species": "apple", "count": 4, "a.b": "dotted", "$x": "dollar"}),
    (MR_MEN, {"nothing": None}),
]


@pytest.fixture
def stores(backend: StoreBackend) -> Iterator[Stores]:
    """Open stores holding five annotated datasets on each backend."""
    opened = backend.open()
    for i, (base_uri, values) in enumerate(ANNOTATIONS):
        info = make_info(i, base_uri)
        info["annotations"] = values
        opened.datasets.upsert(record_from_info(info))
    yield opened
    opened.close()


def query(
    base_uris: tuple[str, ...] = BOTH,
    annotations: dict[str, Any] | None = None,
    keys: tuple[str, ...] = (),
    **criteria: Any,
) -> SearchQuery:
    """Return a query over ``base_uris`` with annotation filters in canonical form."""
    pairs = tuple(
        (key, text)
        for key, value in (annotations or {}).items()
        if (text := annotation_value(value)) is not None
    )
    return SearchQuery(base_uris, annotations=pairs, annotation_keys=keys, **criteria)


def names(stores: Stores, search: SearchQuery) -> list[str]:
    """Return the names of the datasets a search finds, checking its total."""
    page = stores.datasets.search(search, ALL)
    assert page.total == len(page.items)
    return [entry.name for entry in page.items]


def test_keys_count_datasets_holding_a_scalar_value(stores: Stores) -> None:
    assert stores.datasets.annotation_keys(query()) == {
        "$x": 1,
        "a.b": 1,
        "count": 4,
        "ripe": 2,
        "species": 4,
    }


def test_keys_are_limited_to_the_base_uris_given(stores: Stores) -> None:
    assert stores.datasets.annotation_keys(query((MR_MEN,))) == {
        "$x": 1,
        "a.b": 1,
        "count": 1,
        "species": 1,
    }
    assert stores.datasets.annotation_keys(query(())) == {}


def test_keys_under_a_filter_count_only_the_matching_datasets(stores: Stores) -> None:
    assert stores.datasets.annotation_keys(query(keys=("ripe",))) == {
        "count": 2,
        "ripe": 2,
        "species": 2,
    }
    assert stores.datasets.annotation_keys(query(annotations={"species": "pear"})) == {
        "count": 1,
        "ripe": 1,
        "species": 1,
    }


def test_values_are_counted_per_canonical_value(stores: Stores) -> None:
    values = stores.datasets.annotation_values(query(keys=("count", "species")))
    assert values == {
        "count": {'"3"': 1, "3": 2, "4": 1},
        "species": {'"apple"': 3, '"pear"': 1},
    }


def test_values_need_keys_and_respect_every_filter(stores: Stores) -> None:
    assert stores.datasets.annotation_values(query()) == {}
    narrowed = query((SNOW_WHITE,), annotations={"species": "apple"}, keys=("count",))
    assert stores.datasets.annotation_values(narrowed) == {
        "count": {'"3"': 1, "3": 1},
        "species": {'"apple"': 2},
    }


def test_an_annotation_filter_matches_type_and_value(stores: Stores) -> None:
    assert names(stores, query(annotations={"count": 3})) == ["dataset-000000", "dataset-000001"]
    assert names(stores, query(annotations={"count": "3"})) == ["dataset-000002"]
    assert names(stores, query(annotations={"ripe": True})) == ["dataset-000000"]
    assert names(stores, query(annotations={"ripe": 1})) == []


def test_pairs_and_keys_are_anded_with_the_other_criteria(stores: Stores) -> None:
    apples = query(annotations={"species": "apple"})
    assert names(stores, apples) == ["dataset-000000", "dataset-000002", "dataset-000003"]
    both = query(annotations={"species": "apple", "count": 4})
    assert names(stores, both) == ["dataset-000003"]
    assert names(stores, query(annotations={"species": "apple"}, keys=("ripe",))) == [
        "dataset-000000"
    ]
    assert names(stores, query((SNOW_WHITE,), keys=("a.b",))) == []
    assert names(stores, query(keys=("a.b", "$x"))) == ["dataset-000003"]
    assert names(
        stores, query(annotations={"species": "apple"}, creator_usernames=("user3",))
    ) == ["dataset-000003"]


def test_non_scalar_and_null_annotations_are_no_facets(stores: Stores) -> None:
    assert names(stores, query(keys=("nested",))) == []
    assert names(stores, query(keys=("nothing",))) == []
    assert names(stores, query(keys=("list",))) == []


def test_a_reregistration_replaces_the_facets_and_a_removal_drops_them(stores: Stores) -> None:
    info = make_info(1, SNOW_WHITE)
    info["annotations"] = {"species": "quince"}
    stores.datasets.upsert(record_from_info(info))
    assert stores.datasets.annotation_values(query(keys=("species",))) == {
        "species": {'"apple"': 3, '"quince"': 1}
    }
    assert stores.datasets.annotation_keys(query(keys=("ripe",))) == {
        "count": 1,
        "ripe": 1,
        "species": 1,
    }
    stores.datasets.delete(info["uri"])
    assert stores.datasets.annotation_values(query(keys=("species",))) == {
        "species": {'"apple"': 3}
    }


def test_upsert_many_writes_the_facets_of_every_record(stores: Stores) -> None:
    infos = [make_info(100 + i, MR_MEN) for i in range(3)]
    stores.datasets.upsert_many([record_from_info(info) for info in infos])
    groups = stores.datasets.annotation_values(query((MR_MEN,), keys=("group",)))
    assert groups == {"group": {'"group0"': 1, '"group1"': 1, '"group2"': 1}}
