"""Annotation filters and facets in SQL, over the ``dataset_annotations`` table.

Each filter is an ``id IN (SELECT dataset_id ...)`` on the pairs index, as
tag filters are; counts are GROUP BYs over the same table, restricted to the
base URIs a user may search and, when the query filters more than that, to
the ids of the matching datasets. Nothing is counted in Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, insert, select

from lookup_events.model import DatasetRecord
from lookup_events.store.annotations import annotation_pairs, keys_of_interest
from lookup_events.store.protocols import SearchQuery
from lookup_events.store.sql.schema import dataset_annotations, datasets

_A = dataset_annotations.c


def annotation_filters(query: SearchQuery) -> list[ColumnElement[bool]]:
    """Return the WHERE clauses on ``datasets`` of a query's annotation filters."""
    where: list[ColumnElement[bool]] = []
    for key, value in dict.fromkeys(query.annotations):
        pairs = select(_A.dataset_id).where(_A.key == key, _A.value == value)
        where.append(datasets.c.id.in_(pairs))
    paired = {key for key, _ in query.annotations}
    for key in dict.fromkeys(query.annotation_keys):
        if key not in paired:
            where.append(datasets.c.id.in_(select(_A.dataset_id).where(_A.key == key)))
    return where


def is_plain(query: SearchQuery) -> bool:
    """Tell whether a query filters by base URI alone (facets need no join)."""
    return query == SearchQuery(query.base_uris)


def key_counts(
    conn: Connection, query: SearchQuery, where: Sequence[ColumnElement[bool]]
) -> dict[str, int]:
    """Return ``{key: datasets}`` over the datasets matching ``where``."""
    statement = select(_A.key, func.count()).where(_A.base_uri.in_(query.base_uris))
    if not is_plain(query):
        statement = statement.where(_A.dataset_id.in_(select(datasets.c.id).where(*where)))
    rows = conn.execute(statement.group_by(_A.key))
    return {str(key): int(count) for key, count in sorted(rows)}


def value_counts(
    conn: Connection, query: SearchQuery, where: Sequence[ColumnElement[bool]]
) -> dict[str, dict[str, int]]:
    """Return ``{key: {value: datasets}}`` for the keys the query names."""
    keys = keys_of_interest(query.annotations, query.annotation_keys)
    if not keys:
        return {}
    statement = (
        select(_A.key, _A.value, func.count())
        .where(_A.key.in_(keys), _A.base_uri.in_(query.base_uris))
        .where(_A.dataset_id.in_(select(datasets.c.id).where(*where)))
        .group_by(_A.key, _A.value)
    )
    counts: dict[str, dict[str, int]] = {}
    for key, value, count in sorted(conn.execute(statement)):
        counts.setdefault(str(key), {})[str(value)] = int(count)
    return counts


def write_annotations(
    conn: Connection, records: Sequence[DatasetRecord], stale: Sequence[int], ids: dict[str, int]
) -> None:
    """Replace the annotation rows of ``records`` (``stale``: ids of rows already there)."""
    for chunk in _chunks(list(stale)):
        conn.execute(delete(dataset_annotations).where(_A.dataset_id.in_(chunk)))
    rows = list(_annotation_rows(records, ids))
    if rows:
        conn.execute(insert(dataset_annotations), rows)


def _annotation_rows(
    records: Sequence[DatasetRecord], ids: dict[str, int]
) -> Iterator[dict[str, Any]]:
    for record in records:
        for key, value in annotation_pairs(record.annotations):
            yield {
                "dataset_id": ids[record.uri],
                "key": key,
                "value": value,
                "base_uri": record.entry.base_uri,
            }


def _chunks(values: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
