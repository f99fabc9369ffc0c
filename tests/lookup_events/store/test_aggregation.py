"""Aggregation pipelines: what is refused (a 422 naming the stage), and the Python matcher."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lookup_events.errors import InvalidQuery
from lookup_events.store.aggregation import dataset_document, matches, parse_pipeline
from lookup_events.store.structured import parse_filter
from tests.support.structured_cases import CASES, HIDDEN, records

REFUSED: list[tuple[Any, str]] = [
    ({"$match": {}}, "aggregation: a list of at most 20 stages"),
    ([{"$match": {}}] * 21, "at most 20 stages"),
    ([{"$lookup": {"from": "users"}}], r"aggregation\[0\]\.\$lookup: not supported"),
    ([{"$graphLookup": {}}], r"\$graphLookup: not supported"),
    ([{"$unionWith": "other"}], r"\$unionWith: not supported"),
    ([{"$out": "copy"}], r"aggregation\[0\]\.\$out: not supported \(it reads other"),
    ([{"$merge": {"into": "x"}}], r"\$merge: not supported"),
    ([{"$facet": {}}], r"\$facet: not supported"),
    ([{"$addFields": {"a": 1}}], r"\$addFields: unknown or unsupported stage"),
    ([{"$match": {}, "$limit": 1}], "a stage is an object with one operator"),
    ([{"$match": {"$where": "1"}}], r"aggregation\[0\]\.\$match\.\$where: \$where is not"),
    ([{"$limit": 1}, {"$match": {"a": {"$regex": "(a+)+"}}}], r"aggregation\[1\]\.\$match\.a"),
    ([{"$match": {"manifest": 1}}], "unknown field 'manifest'"),
    ([{"$group": {"n": {"$sum": 1}}}], r"\$group takes an object with an _id"),
    ([{"$group": {"_id": 1, "n": {"$stdDevPop": 1}}}], r"\$stdDevPop: unsupported accumulator"),
    ([{"$group": {"_id": 1, "a.b": {"$sum": 1}}}], "output field names have no dots"),
    ([{"$group": {"_id": {"$concat": ["$a"]}}}], r"_id\.\$concat: expression operators"),
    ([{"$group": {"_id": "$$ROOT"}}], r"variables \(\$\$ROOT\) are not supported"),
    ([{"$sort": {"name": 2}}], "sort directions are 1 or -1"),
    ([{"$sort": {}}], r"\$sort takes an object"),
    ([{"$limit": 0}], r"aggregation\[0\]\.\$limit: takes an integer of at least 1"),
    ([{"$skip": -1}], "takes an integer of at least 0"),
    ([{"$project": {"a": 1, "b": 0}}], "do not mix inclusion and exclusion"),
    ([{"$project": {"a": {"$toUpper": "$a"}}}], r"\$toUpper: expression operators"),
    ([{"$unwind": "tags"}], "a field path starting with"),
    ([{"$unwind": {"path": "$tags", "includeArrayIndex": "i"}}], r"\$unwind takes"),
    ([{"$count": "$n"}], "output field names"),
    ([{"$count": ""}], r"\$count takes the name"),
]


@pytest.mark.parametrize(("stages", "message"), REFUSED, ids=[str(r[0])[:50] for r in REFUSED])
def test_a_stage_outside_the_subset_is_refused_naming_it(stages: Any, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        parse_pipeline(stages)


def test_leading_matches_become_the_filter_the_store_runs() -> None:
    pipeline = parse_pipeline(
        [{"$match": {"name": "a"}}, {"$match": {"tags": "b"}}, {"$limit": 1}]
    )
    assert pipeline.leading == parse_filter({"$and": [{"name": "a"}, {"tags": "b"}]})
    assert [stage.kind for stage in pipeline.stages] == ["$limit"]


@pytest.mark.parametrize(("document", "expected"), CASES, ids=[json.dumps(c[0]) for c in CASES])
def test_the_python_matcher_agrees_with_the_stores(
    document: dict[str, Any], expected: str
) -> None:
    # The SQL stores' later $match stages run here: the same answers as the contract.
    node = parse_filter(document)
    found = [
        record.entry.name
        for record in records()
        if record.entry.base_uri != HIDDEN
        and matches(node, dataset_document(record.entry, record.readme, record.annotations))
    ]
    assert " ".join(found) == expected
