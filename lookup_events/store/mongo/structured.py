"""Structured queries on MongoDB: the parsed tree written back as a filter document.

The filter MongoDB runs is rebuilt from the tree of ``store.structured``,
never passed through: only what the parser accepted reaches the server.
``readme.*`` paths read ``README_FIELD``, where documents keep the README's
YAML (``readme`` itself holds the text, for the free-text index). A
negation is ``$nor`` of what it negates, which MongoDB defines exactly as
``$ne``, ``$nin`` and ``$not`` are (a missing field matches).
"""

from __future__ import annotations

from typing import Any

from lookup_events.store.aggregation import Stage
from lookup_events.store.structured import (
    And,
    Compound,
    Condition,
    ElemMatch,
    Node,
    Not,
    Or,
    Pattern,
)

Document = dict[str, Any]
README_FIELD = "readme_document"


def mongo_filter(node: Node, relative: bool = False) -> Document:
    """Return the MongoDB filter of ``node`` (paths relative inside ``$elemMatch``)."""
    if isinstance(node, Condition):
        return {_path(node.path, relative): _operator(node)}
    if isinstance(node, And):
        return (
            {"$and": [mongo_filter(item, relative) for item in node.items]} if node.items else {}
        )
    if isinstance(node, Or):
        return {"$or": [mongo_filter(item, relative) for item in node.items]}
    return {"$nor": [mongo_filter(node.item, relative)]}


def _path(path: str, relative: bool) -> str:
    if relative:
        return path
    head, _, rest = path.partition(".")
    if head != "readme":
        return path
    return f"{README_FIELD}.{rest}" if rest else README_FIELD


def _operator(test: Condition) -> Document:
    """Return the operator document of one test."""
    if test.op == "elem":
        return {"$elemMatch": _elem_match(test.value)}
    if test.op == "regex":
        return _regex(test.value)
    if test.op == "in":
        return {"$in": [_value(item) for item in test.value]}
    return {f"${test.op}": _value(test.value)}


def _elem_match(match: ElemMatch) -> Document:
    if not match.operators:
        return mongo_filter(match.node, relative=True)
    return _element_operators(match.node)


def _element_operators(node: Node) -> Document:
    """Return an operator-form ``$elemMatch`` body (``{"$gt": 1, "$ne": 3}``)."""
    if isinstance(node, Condition):
        return _operator(node)
    if isinstance(node, Not):
        inner = node.item
        if isinstance(inner, Condition) and inner.op == "eq":
            return {"$ne": _value(inner.value)}
        if isinstance(inner, Condition) and inner.op == "in":
            return {"$nin": [_value(item) for item in inner.value]}
        return {"$not": _element_operators(inner)}
    assert isinstance(node, And)  # the parser makes no $or of element operators
    body: Document = {}
    for item in node.items:
        # NOTE(dev): the operators came from one object, so no key repeats.
        body.update(_element_operators(item))
    return body


def _regex(pattern: Pattern) -> Document:
    found: Document = {"$regex": pattern.source}
    if pattern.ignore_case:
        found["$options"] = "i"
    return found


def _value(value: Any) -> Any:
    return value.value() if isinstance(value, Compound) else value


# The dataset document an aggregation reads, as every store shapes it
# (``store.aggregation.dataset_document``).
_RESHAPE: Document = {
    "_id": 0,
    **dict.fromkeys(
        (
            "uri",
            "base_uri",
            "uuid",
            "name",
            "type",
            "creator_username",
            "frozen_at",
            "created_at",
            "number_of_items",
            "size_in_bytes",
            "tags",
            "annotations",
        ),
        1,
    ),
    "readme": f"${README_FIELD}",
}


def mongo_pipeline(found: Document, order: str, stages: tuple[Stage, ...]) -> list[Document]:
    """Return the pipeline MongoDB runs: permitted datasets in order, reshaped, then ``stages``.

    Output documents lose ``_id``, as the direct-mongo plugin's did.
    """
    pipeline: list[Document] = [{"$match": found}, {"$sort": {order: 1}}, {"$project": _RESHAPE}]
    for stage in stages:
        spec = mongo_filter(stage.spec, relative=True) if stage.kind == "$match" else stage.spec
        pipeline.append({stage.kind: spec})
    pipeline.append({"$project": {"_id": 0}})
    return pipeline
