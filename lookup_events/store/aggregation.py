"""Aggregations: a documented subset of MongoDB's pipeline, checked, and run in Python for SQL.

``parse_pipeline`` reads the body of ``POST /mongo/aggregate`` into stages
of ``$match $group $sort $limit $skip $project $unwind $count``. Leading
``$match`` stages become one filter (``Pipeline.leading``) that the store
runs itself, in SQL or in MongoDB, AND-ed with the caller's permissions; at
most ``MAX_INPUT`` datasets may pass it, so no pipeline reads without bound.
The other stages run natively on MongoDB and, for the SQL stores, in Python
here (``run``), with MongoDB's meaning: the contract suite compares both.

None of the stages reads another collection or writes, so none can widen
the permission filter; ``$lookup $graphLookup $unionWith $facet $out
$merge`` and everything else are refused with a 422 naming the stage.
Expressions are field paths (``"$readme.project"``), constants,
``{"$literal": value}`` and objects of those (a compound ``_id``).

The documents are the dataset documents of ``store.structured`` (entry
fields, ``tags``, ``annotations``, ``readme`` parsed); like the
direct-mongo plugin, the output documents lose ``_id``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lookup_events.errors import InvalidQuery
from lookup_events.model import DatasetEntry
from lookup_events.store.structured import (
    And,
    Compound,
    Condition,
    ElemMatch,
    Node,
    Not,
    Or,
    Pattern,
    canonical_json,
    check_path,
    parse_filter,
    queryable_parts,
)

MAX_STAGES = 20
MAX_INPUT = 10_000
MAX_DOCUMENTS = 100_000
STAGES = frozenset(
    {"$match", "$group", "$sort", "$limit", "$skip", "$project", "$unwind", "$count"}
)
REFUSED_STAGES = frozenset(
    {"$lookup", "$graphLookup", "$unionWith", "$facet", "$out", "$merge", "$function"}
)
ACCUMULATORS = frozenset(
    {"$sum", "$avg", "$min", "$max", "$first", "$last", "$push", "$addToSet", "$count"}
)
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Stage:
    """One checked stage: its operator and its specification (a ``Node`` for ``$match``)."""

    kind: str
    spec: Any


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The leading filter the store runs, then the stages after it."""

    leading: Node
    stages: tuple[Stage, ...]


@dataclass(frozen=True, slots=True)
class AggregateQuery:
    """A pipeline and the base URIs the caller may search."""

    base_uris: tuple[str, ...]
    pipeline: Pipeline


def too_many_inputs(limit: int) -> InvalidQuery:
    """Return the error of a leading filter letting more than ``limit`` datasets through."""
    return InvalidQuery(
        f"aggregation: more than {limit:,} datasets pass the leading $match; narrow it"
    )


def parse_pipeline(stages: Any, extra: Sequence[Node] = ()) -> Pipeline:
    """Return the checked pipeline; ``extra`` tests join its leading filter.

    Raises:
        InvalidQuery: a stage outside the subset; the message names it.
    """
    if not isinstance(stages, list) or len(stages) > MAX_STAGES:
        raise InvalidQuery(f"aggregation: a list of at most {MAX_STAGES} stages")
    leading: list[Node] = list(extra)
    checked: list[Stage] = []
    for index, stage in enumerate(stages):
        where = f"aggregation[{index}]"
        kind, spec = _stage(stage, where)
        if kind != "$match":
            checked.append(Stage(kind, _CHECKS[kind](spec, f"{where}.{kind}")))
        elif not checked:
            # NOTE(dev): the store runs these itself, on the stored document: only its fields.
            leading.append(_match(spec, f"{where}.$match", fields=True))
        else:
            checked.append(Stage(kind, _match(spec, f"{where}.$match", fields=False)))
    return Pipeline(And(tuple(leading)), tuple(checked))


def _stage(stage: Any, where: str) -> tuple[str, Any]:
    if not isinstance(stage, dict) or len(stage) != 1:
        raise InvalidQuery(f"{where}: a stage is an object with one operator")
    ((kind, spec),) = stage.items()
    here = f"{where}.{kind}"
    if kind in REFUSED_STAGES:
        raise InvalidQuery(f"{here}: not supported (it reads other collections or writes)")
    if kind not in STAGES:
        raise InvalidQuery(f"{here}: unknown or unsupported stage; use one of {sorted(STAGES)}")
    return kind, spec


def _match(spec: Any, where: str, fields: bool) -> Node:
    if not isinstance(spec, dict):
        raise InvalidQuery(f"{where}: $match takes a filter object")
    return parse_filter(spec, where=where, fields=fields)


def _group(spec: Any, where: str) -> dict[str, Any]:
    if not isinstance(spec, dict) or "_id" not in spec:
        raise InvalidQuery(f"{where}: $group takes an object with an _id")
    checked: dict[str, Any] = {"_id": _expression(spec["_id"], f"{where}._id")}
    for name, value in spec.items():
        if name == "_id":
            continue
        _output_name(name, f"{where}.{name}")
        if not isinstance(value, dict) or len(value) != 1:
            raise InvalidQuery(f"{where}.{name}: one accumulator such as {{'$sum': 1}}")
        ((accumulator, argument),) = value.items()
        if accumulator not in ACCUMULATORS:
            raise InvalidQuery(
                f"{where}.{name}.{accumulator}: unsupported accumulator; "
                f"use one of {sorted(ACCUMULATORS)}"
            )
        if accumulator == "$count" and argument != {}:
            raise InvalidQuery(f"{where}.{name}.$count: takes {{}}")
        checked[name] = {accumulator: _expression(argument, f"{where}.{name}.{accumulator}")}
    return checked


def _sort(spec: Any, where: str) -> dict[str, int]:
    if not isinstance(spec, dict) or not spec:
        raise InvalidQuery(f"{where}: $sort takes an object of fields and 1 or -1")
    for name, direction in spec.items():
        check_path(name, f"{where}.{name}", relative=True)
        if direction not in (1, -1) or isinstance(direction, bool):
            raise InvalidQuery(f"{where}.{name}: sort directions are 1 or -1")
    return dict(spec)


def _count_value(minimum: int) -> Callable[[Any, str], int]:
    def check(spec: Any, where: str) -> int:
        if isinstance(spec, int) and not isinstance(spec, bool) and minimum <= spec < 2**31:
            return spec
        raise InvalidQuery(f"{where}: takes an integer of at least {minimum}")

    return check


def _project(spec: Any, where: str) -> dict[str, Any]:
    if not isinstance(spec, dict) or not spec:
        raise InvalidQuery(f"{where}: $project takes a non-empty object")
    checked: dict[str, Any] = {}
    for name, value in spec.items():
        check_path(name, f"{where}.{name}", relative=True)
        if isinstance(value, bool) or value in (0, 1):
            checked[name] = bool(value)
        else:
            checked[name] = _expression(value, f"{where}.{name}")
    modes = {value for name, value in checked.items() if isinstance(value, bool) and name != "_id"}
    computed = any(not isinstance(value, bool) for value in checked.values())
    if modes == {True, False} or (False in modes and computed):
        raise InvalidQuery(f"{where}: do not mix inclusion and exclusion (but for _id)")
    return checked


def _unwind(spec: Any, where: str) -> dict[str, Any]:
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict) or set(spec) - {"path", "preserveNullAndEmptyArrays"}:
        raise InvalidQuery(
            f"{where}: $unwind takes '$path' or {{path, preserveNullAndEmptyArrays}}"
        )
    path = spec.get("path")
    if not isinstance(path, str) or not path.startswith("$"):
        raise InvalidQuery(f"{where}.path: a field path starting with $")
    check_path(path[1:], f"{where}.path", relative=True)
    preserve = spec.get("preserveNullAndEmptyArrays", False)
    if not isinstance(preserve, bool):
        raise InvalidQuery(f"{where}.preserveNullAndEmptyArrays: true or false")
    return {"path": path, "preserveNullAndEmptyArrays": preserve}


def _count(spec: Any, where: str) -> str:
    if isinstance(spec, str) and spec:
        _output_name(spec, where)
        return spec
    raise InvalidQuery(f"{where}: $count takes the name of its output field")


def _output_name(name: Any, where: str) -> None:
    if not isinstance(name, str) or not name or name.startswith("$") or "." in name:
        raise InvalidQuery(f"{where}: output field names have no dots and do not start with $")


def _expression(value: Any, where: str, depth: int = 0) -> Any:
    """Check an expression: a field path, a constant, ``$literal``, or an object of those."""
    if depth > 8:
        raise InvalidQuery(f"{where}: the expression is nested too deeply")
    if isinstance(value, str) and value.startswith("$"):
        if value.startswith("$$"):
            raise InvalidQuery(f"{where}: variables ({value}) are not supported")
        check_path(value[1:], where, relative=True)
        return value
    if isinstance(value, dict):
        if list(value) == ["$literal"]:
            return value
        for key, item in value.items():
            if key.startswith("$"):
                raise InvalidQuery(f"{where}.{key}: expression operators are not supported")
            _expression(item, f"{where}.{key}", depth + 1)
        return value
    if isinstance(value, list):
        raise InvalidQuery(f"{where}: array expressions are not supported")
    return value


_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "$group": _group,
    "$sort": _sort,
    "$limit": _count_value(1),
    "$skip": _count_value(0),
    "$project": _project,
    "$unwind": _unwind,
    "$count": _count,
}


# Running the stages in Python (the SQL stores) --------------------------------------------


def dataset_document(
    entry: DatasetEntry, readme: str, annotations: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the document an aggregation reads for one dataset."""
    parts = queryable_parts(readme, annotations, entry.tags)
    return {
        "uri": entry.uri,
        "base_uri": entry.base_uri,
        "uuid": entry.uuid,
        "name": entry.name,
        "type": entry.type,
        "creator_username": entry.creator_username,
        "frozen_at": entry.frozen_at,
        "created_at": entry.created_at,
        "number_of_items": entry.number_of_items,
        "size_in_bytes": entry.size_in_bytes,
        **parts,
    }


def run(stages: Sequence[Stage], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the stages after the leading filter; return the output without ``_id``.

    Raises:
        InvalidQuery: a stage would hold more than ``MAX_DOCUMENTS`` documents.
    """
    for stage in stages:
        documents = _RUNNERS[stage.kind](stage.spec, documents)
        if len(documents) > MAX_DOCUMENTS:
            raise InvalidQuery(f"{stage.kind}: the pipeline holds more than {MAX_DOCUMENTS:,}")
    return [{k: v for k, v in doc.items() if k != "_id"} for doc in documents]


def _run_match(node: Node, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in documents if matches(node, doc)]


def _run_group(spec: dict[str, Any], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
    for doc in documents:
        key = _present(evaluate(spec["_id"], doc))
        groups.setdefault(canonical_json(key), (key, []))[1].append(doc)
    output = []
    for key, members in groups.values():
        result: dict[str, Any] = {"_id": key}
        for name, accumulator in spec.items():
            if name != "_id":
                ((op, argument),) = accumulator.items()
                result[name] = _accumulate(op, [evaluate(argument, doc) for doc in members])
        output.append(result)
    return output


def _accumulate(op: str, values: list[Any]) -> Any:
    if op in ("$first", "$last"):
        return _present(values[0] if op == "$first" else values[-1])
    if op == "$count":
        return len(values)
    present = [value for value in values if value is not _MISSING]
    return _SUMMARIES[op](present)


def _numbers(values: list[Any]) -> list[int | float]:
    return [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def _average(values: list[Any]) -> float | None:
    numbers = _numbers(values)
    return sum(numbers) / len(numbers) if numbers else None


def _extreme(last: bool) -> Callable[[list[Any]], Any]:
    def pick(values: list[Any]) -> Any:
        ordered = sorted((v for v in values if v is not None), key=sort_key)
        return (ordered[-1] if last else ordered[0]) if ordered else None

    return pick


def _unique(values: list[Any]) -> list[Any]:
    return list({canonical_json(value): value for value in values}.values())


_SUMMARIES: dict[str, Callable[[list[Any]], Any]] = {
    "$sum": lambda values: sum(_numbers(values)),
    "$avg": _average,
    "$min": _extreme(last=False),
    "$max": _extreme(last=True),
    "$push": list,
    "$addToSet": _unique,
}


def _run_sort(spec: dict[str, int], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def compare(left: dict[str, Any], right: dict[str, Any]) -> int:
        for name, direction in spec.items():
            a, b = sort_key(_lookup(left, name)), sort_key(_lookup(right, name))
            if a != b:
                return direction if a > b else -direction
        return 0

    return sorted(documents, key=functools.cmp_to_key(compare))


def _run_project(spec: dict[str, Any], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_projected(spec, doc) for doc in documents]


def _projected(spec: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    excluding = any(v is False for k, v in spec.items() if k != "_id")
    if excluding or all(v is False for v in spec.values()):
        result: dict[str, Any] = json.loads(json.dumps(doc))
        for name, value in spec.items():
            if value is False:
                _remove(result, name)
        return result
    result = {}
    if "_id" in doc and spec.get("_id", True) is not False:
        result["_id"] = doc["_id"]
    for name, value in spec.items():
        found = _lookup(doc, name) if value is True else evaluate(value, doc)
        if found is not _MISSING and not (name == "_id" and value is False):
            _assign(result, name, found)
    return result


def _run_unwind(spec: dict[str, Any], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    path = spec["path"][1:]
    output = []
    for doc in documents:
        value = _lookup(doc, path)
        if isinstance(value, list) and value:
            for item in value:
                copy = json.loads(json.dumps(doc))
                _assign(copy, path, item)
                output.append(copy)
        elif value is not _MISSING and value is not None and not isinstance(value, list):
            output.append(doc)
        elif spec["preserveNullAndEmptyArrays"]:
            copy = json.loads(json.dumps(doc))
            if isinstance(value, list):
                _remove(copy, path)
            output.append(copy)
    return output


def _run_count(name: str, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{name: len(documents)}] if documents else []


_RUNNERS: dict[str, Callable[[Any, list[dict[str, Any]]], list[dict[str, Any]]]] = {
    "$match": _run_match,
    "$group": _run_group,
    "$sort": _run_sort,
    "$limit": lambda n, docs: docs[:n],
    "$skip": lambda n, docs: docs[n:],
    "$project": _run_project,
    "$unwind": _run_unwind,
    "$count": _run_count,
}


def evaluate(expression: Any, doc: Mapping[str, Any]) -> Any:
    """Return the value of an expression in ``doc`` (``_MISSING`` for a missing path)."""
    if isinstance(expression, str) and expression.startswith("$"):
        return _lookup(doc, expression[1:])
    if isinstance(expression, dict):
        if list(expression) == ["$literal"]:
            return expression["$literal"]
        return {
            key: value
            for key, item in expression.items()
            if (value := evaluate(item, doc)) is not _MISSING
        }
    return expression


def _lookup(doc: Any, path: str) -> Any:
    """Return the value at a dotted path; arrays of documents give arrays (``$a.b``)."""
    value = doc
    for segment in path.split("."):
        if isinstance(value, dict):
            value = value.get(segment, _MISSING)
        elif isinstance(value, list):
            picked = [item.get(segment, _MISSING) for item in value if isinstance(item, dict)]
            value = [item for item in picked if item is not _MISSING]
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def _present(value: Any) -> Any:
    return None if value is _MISSING else value


def _assign(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for segment in parents:
        child = doc.get(segment)
        if not isinstance(child, dict):
            child = doc[segment] = {}
        doc = child
    doc[last] = value


def _remove(doc: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    for segment in parents:
        child = doc.get(segment)
        if not isinstance(child, dict):
            return
        doc = child
    doc.pop(last, None)


# MongoDB's order of types: null, numbers, strings, objects, arrays, booleans.
_RANKS = ((type(None), 1), (bool, 8), (int, 2), (float, 2), (str, 3), (dict, 4), (list, 5))


def sort_key(value: Any) -> tuple[int, Any]:
    """Return a key ordering values as MongoDB does across types."""
    if value is _MISSING or value is None:
        return (1, 0)
    for kind, rank in _RANKS:
        if isinstance(value, kind):
            return (rank, canonical_json(value) if rank in (4, 5) else value)
    return (9, str(value))


# Matching in Python (``$match`` after other stages) ------------------------------------


def matches(node: Node, doc: Mapping[str, Any]) -> bool:
    """Tell whether ``doc`` matches ``node`` with MongoDB's meaning (as the SQL stores do)."""
    if isinstance(node, And):
        return all(matches(item, doc) for item in node.items)
    if isinstance(node, Or):
        return any(matches(item, doc) for item in node.items)
    if isinstance(node, Not):
        return not matches(node.item, doc)
    found = list(_candidates(doc, node.path.split(".")))
    if node.op == "exists":
        return bool(found) is bool(node.value)
    values = node.value if node.op == "in" else (node.value,)
    if (
        node.op in ("eq", "in")
        and None in values
        and (not found or any(v is None for v, _ in found))
    ):
        return True
    return any(_value_matches(node, value, item) for value, item in found)


def _candidates(value: Any, segments: list[str], item: bool = False) -> Iterable[tuple[Any, bool]]:
    """Yield each value at a path, and whether it is an array element (as ``dataset_fields``)."""
    if not segments:
        yield value, item
        if isinstance(value, list):
            yield from ((element, True) for element in value)
        return
    if isinstance(value, dict):
        if segments[0] in value:
            yield from _candidates(value[segments[0]], segments[1:])
    elif isinstance(value, list):
        for element in value:
            if isinstance(element, dict | list):
                yield from _candidates(element, segments)


def _value_matches(test: Condition, value: Any, item: bool) -> bool:
    op = test.op
    if op in ("eq", "in"):
        wanted = test.value if op == "in" else (test.value,)
        return any(_equal(value, other) for other in wanted if other is not None)
    if op in ("gt", "gte", "lt", "lte"):
        return _compare(op, value, test.value)
    if op == "size":
        return isinstance(value, list) and not item and len(value) == test.value
    if op == "regex":
        return isinstance(value, str) and _search(test.value, value)
    return item and _elem_matches(test.value, value)


def _elem_matches(match: ElemMatch, value: Any) -> bool:
    if match.operators:
        return _element_matches(match.node, value)
    return isinstance(value, dict) and matches(match.node, value)


def _element_matches(node: Node, value: Any) -> bool:
    if isinstance(node, And):
        return all(_element_matches(item, value) for item in node.items)
    if isinstance(node, Or):
        return any(_element_matches(item, value) for item in node.items)
    if isinstance(node, Not):
        return not _element_matches(node.item, value)
    values = node.value if node.op == "in" else (node.value,)
    if node.op in ("eq", "in") and None in values and value is None:
        return True
    return _value_matches(node, value, True)


def _bracket(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _equal(value: Any, other: Any) -> bool:
    if isinstance(other, Compound):
        return isinstance(value, list | dict) and canonical_json(value) == other.canonical
    return _bracket(value) == _bracket(other) and value == other


def _compare(op: str, value: Any, other: Any) -> bool:
    if _bracket(value) != _bracket(other) or isinstance(value, list | dict | type(None)):
        return False
    return bool(
        {"gt": value > other, "gte": value >= other, "lt": value < other, "lte": value <= other}[
            op
        ]
    )


@functools.lru_cache(maxsize=256)
def _compiled(pattern: Pattern) -> re.Pattern[str]:
    return re.compile(pattern.source, re.IGNORECASE if pattern.ignore_case else 0)


def _search(pattern: Pattern, text: str) -> bool:
    found: re.Match[str] | None = _compiled(pattern).search(text)
    return found is not None
