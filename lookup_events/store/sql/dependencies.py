"""Dependency links in SQL: kept in ``dataset_dependencies``, labelled by component.

The registrar's transaction replaces a dataset's link rows with its row
(``write_dependencies``). Every row carries its ``component``: one UUID shared
by all the UUIDs that links of any key connect, so a graph reads one
component's rows at once (``sql.graph``). A new link that joins two
components relabels the smaller one's rows (found by a count bounded at
``COUNT_BOUND``), so a row is relabelled O(log n) times over a store's life.
Removing a link splits nothing: a component only has to hold every graph of
its members, and one that grew too wide is made exact again by
``rebuild_dependencies`` (``dtool-lookup graph rebuild``).

On PostgreSQL two writers could each merge a component the other is
extending and leave rows of one component under two labels; a transaction
that writes links therefore takes an advisory lock first (held to its
commit), so labelling is serial there as every write is on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select, text, update

from lookup_events.model import DatasetRecord
from lookup_events.store.dependencies import components, dependency_links
from lookup_events.store.sql.bulk import insert_rows
from lookup_events.store.sql.schema import dataset_dependencies, datasets

_L = dataset_dependencies.c
_CHUNK = 500
COUNT_BOUND = 20_000
# NOTE(dev): an arbitrary constant naming this lock among the database's advisory
# locks; not the schema migration's (store.upgrade), which a registrar must not wait on.
_LABEL_LOCK = 0x647467726170  # "dtgrap"
_LABEL = "#"


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
    insert_links(conn, rows)


def insert_links(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Label ``rows`` with their components, merging components they join; insert them."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LABEL_LOCK})
    links = [(row["uuid"], row["neighbour"]) for row in rows if row["parent"]]
    labels = _labels(conn, links)
    for row in rows:
        row["component"] = labels[row["uuid"]]
    insert_rows(conn, dataset_dependencies, rows)


def _labels(conn: Connection, links: list[tuple[str, str]]) -> dict[str, str]:
    """Return the component of every UUID of ``links``, relabelling merged components."""
    found = _components_of(conn, {uuid for link in links for uuid in link})
    # NOTE(dev): a label joins the walk as a node of its own, so two groups of
    # this batch touching one component are one group.
    pairs = [*links, *((uuid, _LABEL + label) for uuid, label in found.items())]
    labels: dict[str, str] = {}
    for group in components(pairs):
        existing = {node[1:] for node in group if node.startswith(_LABEL)}
        uuids = [node for node in group if not node.startswith(_LABEL)]
        target = _largest(conn, existing) if existing else min(uuids)
        for chunk in _chunks(sorted(existing - {target})):
            conn.execute(
                update(dataset_dependencies)
                .where(_L.component.in_(chunk))
                .values(component=target)
            )
        labels.update(dict.fromkeys(uuids, target))
    return labels


def _components_of(conn: Connection, uuids: set[str]) -> dict[str, str]:
    """Return ``{uuid: component}`` for those of ``uuids`` some link row holds."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(uuids)):
        rows = conn.execute(select(_L.uuid, _L.component).where(_L.uuid.in_(chunk)).distinct())
        found.update((str(uuid), str(component)) for uuid, component in rows)
    return found


def _largest(conn: Connection, labels: set[str]) -> str:
    """Return the label of the component with most rows (counted up to ``COUNT_BOUND``)."""
    if len(labels) == 1:
        return next(iter(labels))

    def size(label: str) -> int:
        rows = select(_L.uuid).where(_L.component == label).limit(COUNT_BOUND).subquery()
        return int(conn.scalar(select(func.count()).select_from(rows)) or 0)

    return max(sorted(labels), key=size)


def link_rows(
    dataset_id: int, uuid: str, base_uri: str, links: Sequence[tuple[str, str]]
) -> Iterator[dict[str, Any]]:
    """Yield both directions of each link of one dataset as rows (component not yet set)."""
    for key, parent in links:
        common = {"dataset_id": dataset_id, "key": key, "base_uri": base_uri}
        yield {**common, "uuid": uuid, "neighbour": parent, "parent": True}
        yield {**common, "uuid": parent, "neighbour": uuid, "parent": False}


def rebuild_dependencies(conn: Connection, batch: int = 1000) -> int:
    """Recompute every dataset's link rows and components from its README and annotations."""
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
        insert_links(conn, values)
        last, count = rows[-1].id, count + len(rows)


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
