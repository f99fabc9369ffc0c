"""Dependency links in SQL: kept in ``dataset_dependencies``, walked by a recursive CTE.

The registrar's transaction replaces a dataset's link rows with its row
(``write_dependencies``); a graph is one ``WITH RECURSIVE`` query that starts
at the dataset's UUID and follows ``uuid -> neighbour`` rows of the keys
asked for, using only rows owned by datasets in the caller's base URIs and
stepping only onto UUIDs a dataset in those base URIs holds. ``UNION``
(not ``UNION ALL``) drops UUIDs already reached, so cycles end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, literal, or_, select

from lookup_events.model import DatasetRecord
from lookup_events.store.dependencies import dependency_links
from lookup_events.store.protocols import GraphQuery
from lookup_events.store.sql.schema import dataset_dependencies, datasets

_L = dataset_dependencies.c
_CHUNK = 500


def graph_uuids(conn: Connection, query: GraphQuery) -> list[str]:
    """Return the UUIDs of the graph around ``query.uuid``, sorted ([] if it is not visible)."""
    visible = datasets.c.base_uri.in_(query.base_uris)
    start = select(datasets.c.uuid).where(datasets.c.uuid == query.uuid, visible).distinct()
    graph = start.cte("graph", recursive=True)
    # NOTE(dev): a UUID no visible dataset holds is never stepped onto, so a walk
    # neither shows an invisible dataset nor passes through one. A step to a
    # child needs no check: the child owns the row, and its base URI is visible.
    reachable = (
        select(literal(1))
        .where(datasets.c.uuid == _L.neighbour, visible)
        .correlate(dataset_dependencies)
        .exists()
    )
    step = (
        select(_L.neighbour)
        .join(graph, _L.uuid == graph.c.uuid)
        .where(
            _L.key.in_(query.keys),
            _L.base_uri.in_(query.base_uris),
            or_(_L.parent.is_(False), reachable),
        )
    )
    graph = graph.union(step)
    found = conn.execute(select(graph.c.uuid).order_by(graph.c.uuid)).scalars()
    return [str(uuid) for uuid in found]


def parents(conn: Connection, query: GraphQuery, uuids: Sequence[str]) -> dict[str, list[str]]:
    """Return ``{uuid: parent UUIDs}`` of ``uuids``, from visible datasets' links."""
    found: dict[str, set[str]] = {}
    for chunk in _chunks(list(uuids)):
        rows = conn.execute(
            select(_L.uuid, _L.neighbour).where(
                _L.uuid.in_(chunk),
                _L.key.in_(query.keys),
                _L.base_uri.in_(query.base_uris),
                _L.parent.is_(True),
            )
        )
        for uuid, neighbour in rows:
            found.setdefault(str(uuid), set()).add(str(neighbour))
    return {uuid: sorted(values) for uuid, values in found.items()}


def write_dependencies(
    conn: Connection, records: Sequence[DatasetRecord], stale: Sequence[int], ids: dict[str, int]
) -> None:
    """Replace the link rows of ``records`` (``stale``: ids of rows already there)."""
    for chunk in _chunks(list(stale)):
        conn.execute(delete(dataset_dependencies).where(_L.dataset_id.in_(chunk)))
    rows = [
        row
        for record in records
        for row in link_rows(
            ids[record.uri],
            record.entry.uuid,
            record.entry.base_uri,
            dependency_links(record.entry.uuid, record.readme, record.annotations),
        )
    ]
    if rows:
        conn.execute(insert(dataset_dependencies), rows)


def link_rows(
    dataset_id: int, uuid: str, base_uri: str, links: Sequence[tuple[str, str]]
) -> Iterator[dict[str, Any]]:
    """Yield both directions of each link of one dataset as rows."""
    for key, parent in links:
        common = {"dataset_id": dataset_id, "key": key, "base_uri": base_uri}
        yield {**common, "uuid": uuid, "neighbour": parent, "parent": True}
        yield {**common, "uuid": parent, "neighbour": uuid, "parent": False}


def rebuild_dependencies(conn: Connection, batch: int = 1000) -> int:
    """Recompute every dataset's link rows from its README and annotations."""
    conn.execute(delete(dataset_dependencies))
    columns = (
        datasets.c.id,
        datasets.c.uuid,
        datasets.c.base_uri,
        datasets.c.readme,
        datasets.c.annotations,
    )
    last, count = 0, 0
    while True:
        statement = select(*columns).where(datasets.c.id > last).order_by(datasets.c.id)
        rows = conn.execute(statement.limit(batch)).all()
        if not rows:
            return count
        values = [
            value
            for row in rows
            for value in link_rows(
                row.id,
                row.uuid,
                row.base_uri,
                dependency_links(row.uuid, row.readme, row.annotations or {}),
            )
        ]
        if values:
            conn.execute(insert(dataset_dependencies), values)
        last, count = rows[-1].id, count + len(rows)


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
