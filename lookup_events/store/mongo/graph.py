"""Dependency graphs on MongoDB: a walk, one level of the graph per round trip.

Each dataset document holds its links (``query.LINKS``, indexed on the parent
UUID). A level steps from the UUIDs reached last to their parents (the links
of their visible documents) and to their children (visible documents linking
to them), then keeps only UUIDs a visible document holds: the same graph the
SQL stores' recursive CTE finds, with no ``$graphLookup`` (whose ``from``
collection no permission filter reaches) and no view to keep up to date.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.collection import Collection

from lookup_events.store.mongo.query import ENTRY_PROJECTION, LINKS, Document, entry_of, links_of
from lookup_events.store.protocols import GraphNode, GraphQuery

_BATCH = 1000


def graph_uuids(datasets: Collection[Document], query: GraphQuery) -> list[str]:
    """Return the UUIDs of the graph around ``query.uuid``, sorted ([] if it is not visible)."""
    visible = {"$in": list(query.base_uris)}
    if datasets.find_one({"uuid": query.uuid, "base_uri": visible}, {"_id": 1}) is None:
        return []
    seen, frontier = {query.uuid}, [query.uuid]
    while frontier:
        found = _parents_of(datasets, query, frontier) | _children_of(datasets, query, frontier)
        new = sorted(found - seen)
        if new:
            wanted = {"uuid": {"$in": new}, "base_uri": visible}
            new = sorted(str(uuid) for uuid in datasets.distinct("uuid", wanted))
        seen.update(new)
        frontier = new
    return sorted(seen)


def _parents_of(
    datasets: Collection[Document], query: GraphQuery, uuids: Sequence[str]
) -> set[str]:
    wanted = {"uuid": {"$in": list(uuids)}, "base_uri": {"$in": list(query.base_uris)}}
    keys = set(query.keys)
    return {
        link["u"]
        for document in datasets.find(wanted, {"_id": 0, LINKS: 1})
        for link in document.get(LINKS, ())
        if link["k"] in keys
    }


def _children_of(
    datasets: Collection[Document], query: GraphQuery, uuids: Sequence[str]
) -> set[str]:
    linking = {"$elemMatch": {"u": {"$in": list(uuids)}, "k": {"$in": list(query.keys)}}}
    wanted = {LINKS: linking, "base_uri": {"$in": list(query.base_uris)}}
    return {str(document["uuid"]) for document in datasets.find(wanted, {"_id": 0, "uuid": 1})}


def graph_nodes(
    datasets: Collection[Document], query: GraphQuery, shown: Sequence[str], graph: set[str]
) -> list[GraphNode]:
    """Return the nodes of ``shown`` UUIDs: each one's smallest visible URI, its parents."""
    if not shown:
        return []
    wanted = {"uuid": {"$in": list(shown)}, "base_uri": {"$in": list(query.base_uris)}}
    first: dict[str, Document] = {}
    parents: dict[str, set[str]] = {}
    keys = set(query.keys)
    cursor = datasets.find(wanted, {**ENTRY_PROJECTION, LINKS: 1}, sort=[("uuid", 1), ("uri", 1)])
    for document in cursor:
        first.setdefault(document["uuid"], document)
        parents.setdefault(document["uuid"], set()).update(
            link["u"]
            for link in document.get(LINKS, ())
            if link["k"] in keys and link["u"] in graph
        )
    return [
        GraphNode(entry_of(first[uuid]), tuple(sorted(parents[uuid])))
        for uuid in shown
        if uuid in first
    ]


def rebuild_links(datasets: Collection[Document]) -> int:
    """Recompute every document's links from its README and annotations."""
    projection: dict[str, Any] = {"_id": 1, "uuid": 1, "readme": 1, "annotations": 1}
    count = 0
    batch: list[UpdateOne] = []
    for document in datasets.find({}, projection):
        links = links_of(
            document["uuid"], document.get("readme", ""), document.get("annotations") or {}
        )
        batch.append(UpdateOne({"_id": document["_id"]}, {"$set": {LINKS: links}}))
        if len(batch) >= _BATCH:
            count += _flush(datasets, batch)
    return count + _flush(datasets, batch)


def _flush(datasets: Collection[Document], batch: list[UpdateOne]) -> int:
    if batch:
        datasets.bulk_write(batch, ordered=False)
    done = len(batch)
    batch.clear()
    return done
