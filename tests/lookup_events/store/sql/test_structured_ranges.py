"""AND-ed tests on one path: one row where a path holds one value a dataset.

MongoDB lets different elements of an array meet ``$gte`` and ``$lt``; the
SQL stores may test one row for both only where no dataset holds an array at
the path or above it. Which paths those are is a fact of the stored rows, so
it must follow every write.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.protocols import PageRequest
from lookup_events.store.sql.schema import dataset_fields
from lookup_events.store.sql.structured import (
    shared_row_paths,
    single_valued,
    structured_where,
)
from lookup_events.store.structured import StructuredQuery, parse_filter
from tests.support.data import MR_MEN, make_info

RANGE = {"readme.level": {"$gt": 4, "$lt": 6}}


def register(stores: Stores, i: int, readme: str) -> None:
    info = make_info(i, MR_MEN)
    info["readme"] = readme
    stores.datasets.upsert(record_from_info(info))


def found(stores: Stores, document: dict[str, Any]) -> list[str]:
    query = StructuredQuery((MR_MEN,), parse_filter(document))
    page = stores.datasets.structured_search(query, PageRequest(1, 100))
    assert page.total == len(page.items)
    return [entry.uri.rsplit("/", 1)[-1] for entry in page.items]


def uuid(i: int) -> str:
    return str(make_info(i, MR_MEN)["uuid"])


def test_a_range_over_scalars_finds_the_values_inside_it(stores: Stores) -> None:
    for i, level in enumerate([3, 5, 7, 5.5]):
        register(stores, i, f"level: {level}\n")
    assert found(stores, RANGE) == [uuid(1), uuid(3)]


def test_an_array_written_later_is_matched_by_its_elements_as_mongodb_does(
    stores: Stores,
) -> None:
    register(stores, 0, "level: 5\n")
    register(stores, 1, "level: 9\n")
    assert found(stores, RANGE) == [uuid(0)]  # the path held one value a dataset
    register(stores, 2, "level: [1, 9]\n")  # 9 > 4 and 1 < 6: different elements
    assert found(stores, RANGE) == [uuid(0), uuid(2)]


def test_an_array_above_the_path_counts_too(stores: Stores) -> None:
    register(stores, 0, "runs:\n  level: 5\n")
    register(stores, 1, "runs:\n  - level: 1\n  - level: 9\n")
    register(stores, 2, "runs:\n  - level: 9\n")
    assert found(stores, {"readme.runs.level": {"$gt": 4, "$lt": 6}}) == [uuid(0), uuid(1)]


def test_conditions_under_or_and_not_are_merged_per_and(stores: Stores) -> None:
    for i, level in enumerate([3, 5, 7]):
        register(stores, i, f"level: {level}\nmode: {'ab'[i % 2]}\n")
    document = {
        "$or": [RANGE, {"readme.level": {"$gte": 7, "$lte": 7}}],
        "readme.mode": {"$not": {"$regex": "^b", "$gt": "a"}},
    }
    assert found(stores, document) == [uuid(2)]


def test_only_paths_with_two_row_tests_under_one_and_are_asked_about() -> None:
    node = parse_filter(
        {
            "readme.a": {"$gt": 1, "$lt": 2},
            "readme.b": {"$gt": 1},
            "name": {"$gt": "a", "$lt": "b"},
            "$or": [{"$and": [{"tags": {"$gte": "a"}}, {"tags": {"$regex": "x"}}]}],
            "readme.c": {"$not": {"$gt": 1, "$lt": 2}},
        }
    )
    assert shared_row_paths(node) == {"readme.a", "tags", "readme.c"}


def test_a_single_valued_path_is_tested_on_one_row(stores: Stores) -> None:
    register(stores, 0, "level: 5\nruns: [{level: 1}]\n")
    with stores.datasets._read_engine.connect() as conn:  # type: ignore[attr-defined]
        asked = {"readme.level", "readme.runs.level", "tags", "readme.missing"}
        assert single_valued(conn, asked) == {"readme.level", "readme.missing"}
    node = parse_filter(RANGE)
    merged = select(dataset_fields.c.id).where(structured_where(node, frozenset(RANGE)))
    split = select(dataset_fields.c.id).where(structured_where(node))
    assert str(merged).count("FROM dataset_fields") == 2  # the outer one and one subquery
    assert str(split).count("FROM dataset_fields") == 3


@pytest.mark.parametrize("level", ["5", "'5'", "true", "null", "{a: 5}"])
def test_a_scalar_of_another_kind_stays_outside_the_range(stores: Stores, level: str) -> None:
    register(stores, 0, f"level: {level}\n")
    register(stores, 1, "level: 5\n")
    expected = [uuid(0), uuid(1)] if level == "5" else [uuid(1)]
    assert found(stores, RANGE) == expected
