"""Datasets and cases of the structured-query contract: a filter, and the datasets it finds.

Five datasets the caller may search (``alpha`` to ``epsilon``, in
registration order) and one in a base URI they may not (``zeta``), which
matches most filters and must never be found. Each case names the datasets
MongoDB's own semantics give; every store must give exactly those.
"""

from __future__ import annotations

from typing import Any

from lookup_events.model import DatasetRecord, record_from_info
from tests.support.data import MR_MEN, SNOW_WHITE, make_info

HIDDEN = "s3://hidden"
VISIBLE = (SNOW_WHITE, MR_MEN)
U0 = "00000000-0000-0000-0000-0000000000a0"
U1 = "00000000-0000-0000-0000-0000000000a1"

_README_ALPHA = f"""---
project: apples
temperature: 20.5
count: 3
keywords: [x, y]
derived_from:
  - uuid: {U1}
    name: beta
nested:
  level:
    deep: "yes"
flag: true
date: 2020-01-02
"""
_README_BETA = """---
project: pears
temperature: 25
count: "3"
items:
  - {a: 1, b: 2}
  - {a: 3, b: 4}
flag: false
empty: null
"""
_README_DELTA = """---
project: Apples pie
temperature: -5
items:
  - {a: 1, b: 4}
numbers: [1, 5, 10]
matrix: [[1, 2], [3]]
"""
_README_EPSILON = f"""---
project: null
numbers: []
derived_from: {{uuid: {U0}}}
"""
_README_ZETA = """---
project: apples
temperature: 20.5
"""

# Notes around the 100 characters a string's indexed prefix holds (SHORT): alpha's is
# one shorter, beta's exactly that long, delta's longer; all three share a prefix.
_NOTE = "n" * 100 + "ote"

# name, base URI, items (so sizes differ), creator, README, annotations, tags
DATASETS: list[tuple[str, str, int, str, str, dict[str, Any], list[str]]] = [
    (
        "alpha",
        SNOW_WHITE,
        1,
        "queen",
        _README_ALPHA,
        {"species": "apple", "count": 3, "ripe": True, "note": _NOTE[:99]},
        ["fruit", "red"],
    ),
    (
        "beta",
        SNOW_WHITE,
        2,
        "queen",
        _README_BETA,
        {"species": "pear", "count": 3.0, "note": _NOTE[:100]},
        ["fruit"],
    ),
    ("gamma", SNOW_WHITE, 3, "grumpy", "not: yaml: [", {}, []),
    (
        "delta",
        MR_MEN,
        0,
        "mrhappy",
        _README_DELTA,
        {"species": "apple", "list": [1, 2], "nested": {"a": 1}, "note": _NOTE},
        ["red", "veg"],
    ),
    ("epsilon", MR_MEN, 4, "queen", _README_EPSILON, {"nothing": None}, ["veg"]),
    ("zeta", HIDDEN, 1, "queen", _README_ZETA, {"species": "apple", "count": 3}, ["fruit", "red"]),
]
NAMES = [row[0] for row in DATASETS]


def records() -> list[DatasetRecord]:
    """Return the contract's datasets as records, in registration order."""
    found = []
    for i, (name, base_uri, items, creator, readme, notes, tags) in enumerate(DATASETS):
        info = make_info(i, base_uri, items=items)
        info.update(
            name=name,
            creator_username=creator,
            readme=readme,
            annotations=notes,
            tags=tags,
        )
        found.append(record_from_info(info))
    return found


def uuid_of(name: str) -> str:
    """Return the UUID ``make_info`` gives the dataset ``name``."""
    return str(records()[NAMES.index(name)].entry.uuid)


_ALL = "alpha beta gamma delta epsilon"

# (filter, names found, in registration order)
CASES: list[tuple[dict[str, Any], str]] = [
    # entry fields
    ({"name": "alpha"}, "alpha"),
    ({"name": {"$ne": "alpha"}}, "beta gamma delta epsilon"),
    ({"name": {"$in": ["alpha", "delta", "zeta"]}}, "alpha delta"),
    ({"name": {"$nin": ["alpha", "delta"]}}, "beta gamma epsilon"),
    ({"name": {"$gt": "c"}}, "gamma delta epsilon"),
    ({"name": {"$lte": "beta"}}, "alpha beta"),
    ({"name": {"$regex": "^[ab]"}}, "alpha beta"),
    ({"name": {"$regex": "ALPHA", "$options": "i"}}, "alpha"),
    ({"name": {"$regex": "a$"}}, "alpha beta gamma delta"),
    ({"name": {"$regex": "^(al|de)[a-z]{2}a$"}}, "alpha delta"),
    ({"name": {"$not": {"$regex": "^[ab]"}}}, "gamma delta epsilon"),
    ({"creator_username": "queen"}, "alpha beta epsilon"),
    ({"creator_username": {"$in": ["grumpy", "mrhappy"]}}, "gamma delta"),
    ({"base_uri": MR_MEN}, "delta epsilon"),
    ({"base_uri": HIDDEN}, ""),
    ({"uri": {"$regex": "mr-men"}}, "delta epsilon"),
    ({"size_in_bytes": {"$gte": 2001}}, "beta gamma epsilon"),
    ({"size_in_bytes": {"$lt": 1000}}, "delta"),
    ({"size_in_bytes": 1000}, "alpha"),
    ({"number_of_items": {"$lt": 2}}, "alpha delta"),
    ({"number_of_items": 0}, "delta"),
    ({"number_of_items": "0"}, ""),
    ({"number_of_items": {"$in": [0, 4, "1"]}}, "delta epsilon"),
    ({"number_of_items": {"$ne": 0}}, "alpha beta gamma epsilon"),
    ({"frozen_at": {"$gt": 0}}, _ALL),
    ({"frozen_at": {"$gt": "0"}}, ""),
    ({"created_at": {"$exists": True}}, _ALL),
    ({"name": {"$exists": True}}, _ALL),
    ({"name": {"$exists": False}}, ""),
    ({"name": 5}, ""),
    ({"name": {"$size": 1}}, ""),
    ({"type": "dataset"}, _ALL),
    ({"name": None}, ""),
    # tags
    ({"tags": "fruit"}, "alpha beta"),
    ({"tags": {"$in": ["veg", "red"]}}, "alpha delta epsilon"),
    ({"tags": {"$all": ["red", "veg"]}}, "delta"),
    ({"tags": {"$nin": ["fruit"]}}, "gamma delta epsilon"),
    ({"tags": {"$size": 0}}, "gamma"),
    ({"tags": {"$size": 2}}, "alpha delta"),
    ({"tags": ["fruit", "red"]}, "alpha"),
    ({"tags": ["red", "fruit"]}, ""),
    ({"tags": []}, "gamma"),
    ({"tags": {"$exists": True}}, _ALL),
    ({"tags": {"$elemMatch": {"$regex": "^v"}}}, "delta epsilon"),
    ({"tags": {"$regex": "^re"}}, "alpha delta"),
    ({"tags": {"$ne": "red"}}, "beta gamma epsilon"),
    ({"tags": {"$not": {"$size": 2}}}, "beta gamma epsilon"),
    ({"tags": {"$gt": "s"}}, "delta epsilon"),
    (
        {"tags": {"$all": [{"$elemMatch": {"$regex": "^r"}}, {"$elemMatch": {"$regex": "^v"}}]}},
        "delta",
    ),
    ({"tags": {"$elemMatch": {"$ne": "fruit"}}}, "alpha delta epsilon"),
    # annotations
    ({"annotations.species": "apple"}, "alpha delta"),
    ({"annotations.species": {"$ne": "apple"}}, "beta gamma epsilon"),
    ({"annotations.count": 3}, "alpha beta"),
    ({"annotations.count": {"$gte": 3}}, "alpha beta"),
    ({"annotations.count": {"$lt": 3}}, ""),
    ({"annotations.count": {"$gt": "2"}}, ""),
    ({"annotations.ripe": True}, "alpha"),
    ({"annotations.ripe": {"$ne": True}}, "beta gamma delta epsilon"),
    ({"annotations.nothing": None}, _ALL),
    ({"annotations.nothing": {"$exists": True}}, "epsilon"),
    ({"annotations.nothing": {"$ne": None}}, ""),
    ({"annotations.list": 2}, "delta"),
    ({"annotations.list": [1, 2]}, "delta"),
    ({"annotations.list": [2, 1]}, ""),
    ({"annotations.list": {"$all": [2, 1]}}, "delta"),
    ({"annotations.nested.a": 1}, "delta"),
    ({"annotations.nested": {"a": 1}}, "delta"),
    ({"annotations": {"$exists": True}}, _ALL),
    ({"annotations.species": {"$in": ["pear", None]}}, "beta gamma epsilon"),
    ({"annotations.species": {"$regex": "^ap"}}, "alpha delta"),
    ({"annotations.species": {"$not": {"$regex": "^ap"}}}, "beta gamma epsilon"),
    ({"annotations.note": _NOTE[:99]}, "alpha"),
    ({"annotations.note": _NOTE[:100]}, "beta"),
    ({"annotations.note": _NOTE}, "delta"),
    ({"annotations.note": _NOTE[:101]}, ""),
    ({"annotations.note": {"$in": [_NOTE[:99], _NOTE]}}, "alpha delta"),
    ({"annotations.note": {"$nin": [_NOTE[:100], _NOTE]}}, "alpha gamma epsilon"),
    ({"annotations.species": {"$nin": ["apple", "pear"]}}, "gamma epsilon"),
    ({"annotations.species": {"$exists": False}}, "gamma epsilon"),
    # readme
    ({"readme.project": "apples"}, "alpha"),
    ({"readme.project": {"$regex": "^apples", "$options": "i"}}, "alpha delta"),
    ({"readme.project": None}, "gamma epsilon"),
    ({"readme.project": {"$exists": False}}, "gamma"),
    ({"readme.project": {"$exists": True}}, "alpha beta delta epsilon"),
    ({"readme.temperature": {"$gt": 20}}, "alpha beta"),
    ({"readme.temperature": {"$gte": 20.5, "$lt": 25}}, "alpha"),
    ({"readme.temperature": {"$lt": 0}}, "delta"),
    ({"readme.temperature": {"$in": [20.5, -5]}}, "alpha delta"),
    ({"readme.temperature": {"$not": {"$gt": 20}}}, "gamma delta epsilon"),
    ({"readme.count": 3}, "alpha"),
    ({"readme.count": "3"}, "beta"),
    ({"readme.count": {"$in": [3, "3"]}}, "alpha beta"),
    ({"readme.keywords": "x"}, "alpha"),
    ({"readme.keywords": ["x", "y"]}, "alpha"),
    ({"readme.keywords": {"$all": ["y", "x"]}}, "alpha"),
    ({"readme.derived_from.uuid": U1}, "alpha"),
    ({"readme.derived_from.uuid": U0}, "epsilon"),
    ({"readme.derived_from.uuid": {"$in": [U0, U1]}}, "alpha epsilon"),
    ({"readme.derived_from": {"$elemMatch": {"uuid": U1, "name": "beta"}}}, "alpha"),
    ({"readme.derived_from": {"$elemMatch": {"uuid": U1, "name": "gamma"}}}, ""),
    (
        {"readme.derived_from": {"$elemMatch": {"$or": [{"uuid": U1}, {"uuid": "nope"}]}}},
        "alpha",
    ),
    ({"readme.nested.level.deep": "yes"}, "alpha"),
    ({"readme.nested.level.deep": {"$exists": True}}, "alpha"),
    ({"readme.nested.level": {"deep": "yes"}}, "alpha"),
    ({"readme.flag": True}, "alpha"),
    ({"readme.flag": False}, "beta"),
    ({"readme.flag": {"$gt": False}}, "alpha"),
    ({"readme.flag": {"$gte": 0}}, ""),
    ({"readme.date": "2020-01-02"}, "alpha"),
    ({"readme.date": {"$gte": "2020-01-01"}}, "alpha"),
    ({"readme.items.a": 1}, "beta delta"),
    ({"readme.items": {"$elemMatch": {"a": 1, "b": 4}}}, "delta"),
    ({"readme.items.a": 1, "readme.items.b": 4}, "beta delta"),
    ({"readme.items": {"$elemMatch": {"a": {"$gt": 2}}}}, "beta"),
    ({"readme.items": {"$elemMatch": {"a": 1, "b": {"$ne": 4}}}}, "beta"),
    ({"readme.items": {"$elemMatch": {"a": {"$in": [3, 5]}}}}, "beta"),
    ({"readme.items": {"$size": 2}}, "beta"),
    ({"readme.numbers": {"$elemMatch": {"$gt": 4, "$lt": 6}}}, "delta"),
    ({"readme.numbers": {"$gt": 4, "$lt": 6}}, "delta"),
    ({"readme.numbers": {"$size": 0}}, "epsilon"),
    ({"readme.numbers": []}, "epsilon"),
    ({"readme.numbers": {"$gt": 9}}, "delta"),
    ({"readme.numbers": {"$elemMatch": {"$gt": 10}}}, ""),
    ({"readme.matrix": [1, 2]}, "delta"),
    ({"readme.matrix": {"$size": 2}}, "delta"),
    ({"readme.empty": None}, _ALL),
    ({"readme.empty": {"$exists": True}}, "beta"),
    ({"readme": {"$exists": True}}, _ALL),
    ({"readme.missing": None}, _ALL),
    # logic
    ({}, _ALL),
    ({"$or": [{"name": "alpha"}, {"tags": "veg"}]}, "alpha delta epsilon"),
    ({"$and": [{"tags": "fruit"}, {"annotations.species": "pear"}]}, "beta"),
    ({"$nor": [{"tags": "fruit"}, {"base_uri": MR_MEN}]}, "gamma"),
    (
        {"$or": [{"readme.temperature": {"$lt": 0}}, {"annotations.count": {"$gte": 3}}]},
        "alpha beta delta",
    ),
    (
        {
            "$and": [
                {"$or": [{"name": "alpha"}, {"name": "beta"}]},
                {"$or": [{"tags": "red"}, {"readme.flag": False}]},
            ]
        },
        "alpha beta",
    ),
    ({"name": {"$not": {"$in": ["alpha", "beta"]}}}, "gamma delta epsilon"),
    ({"$nor": [{"readme.project": {"$exists": True}}]}, "gamma"),
    ({"$or": [{"readme.project": "pears"}], "creator_username": "queen"}, "beta"),
    ({"$nor": [{"$or": [{"name": "alpha"}, {"name": "beta"}]}]}, "gamma delta epsilon"),
    ({"$and": [{"name": {"$gte": "b"}}, {"name": {"$lt": "e"}}]}, "beta delta"),
]

# Cases mongomock answers unlike MongoDB: ``$size`` of a string (MongoDB: no
# match) and equality with an array element that is itself an array.
MONGOMOCK_DEVIATIONS = frozenset({'{"name": {"$size": 1}}', '{"readme.matrix": [1, 2]}'})
