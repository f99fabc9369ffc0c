"""Annotation filters and facets in SQL, over the ``dataset_annotations`` table.

Each filter is an ``id IN (SELECT dataset_id ...)`` on the pairs index, as
tag filters are; counts are GROUP BYs over the same table, restricted to the
base URIs a user may search and, when the query filters more than that, to
the ids of the matching datasets. A query of base URIs alone sums the
datasets per base URI and key, or per base URI and pair, that every write
keeps (``annotation_key_counts``, ``annotation_counts``, ``counts.py``)
instead. Nothing is counted in Python.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, delete, func, select

from lookup_events.model import DatasetRecord
from lookup_events.store.annotations import annotation_pairs, keys_of_interest
from lookup_events.store.protocols import SearchQuery
from lookup_events.store.sql.bulk import insert_rows
from lookup_events.store.sql.counts import Pair, add_pairs
from lookup_events.store.sql.schema import (
    annotation_counts,
    annotation_key_counts,
    dataset_annotations,
    datasets,
)

_A = dataset_annotations.c
_KEPT = annotation_counts.c
_KEPT_KEYS = annotation_key_counts.c


def annotation_filters(query: SearchQuery) -> list[ColumnElement[bool]]:
    """Return the WHERE clauses on ``datasets`` of a query's annotation filters."""
    return [datasets.c.id.in_(ids) for ids in _filtered_ids(query)]


def _filtered_ids(query: SearchQuery) -> list[Select[tuple[int]]]:
    """Return one subquery of dataset ids per annotation pair and per other key."""
    found = [
        select(_A.dataset_id).where(_A.key == key, _A.value == value)
        for key, value in dict.fromkeys(query.annotations)
    ]
    paired = {key for key, _ in query.annotations}
    found.extend(
        select(_A.dataset_id).where(_A.key == key)
        for key in dict.fromkeys(query.annotation_keys)
        if key not in paired
    )
    return found


def _facet_rows(query: SearchQuery, where: Sequence[ColumnElement[bool]]) -> list[Any]:
    """Return the conditions on ``dataset_annotations`` selecting the facet rows.

    A query of base URIs and annotation filters alone is answered from this
    table (the base URI is copied here); any other criterion joins the ids
    of the matching datasets.
    """
    conditions: list[Any] = [_A.base_uri.in_(query.base_uris)]
    bare = SearchQuery(query.base_uris, annotations=query.annotations)
    if dataclasses.replace(query, annotation_keys=()) == bare:
        conditions.extend(_A.dataset_id.in_(ids) for ids in _filtered_ids(query))
    else:
        conditions.append(_A.dataset_id.in_(select(datasets.c.id).where(*where)))
    return conditions


def key_counts(
    conn: Connection, query: SearchQuery, where: Sequence[ColumnElement[bool]]
) -> dict[str, int]:
    """Return ``{key: datasets}`` over the datasets matching ``where``."""
    if _unfiltered(query):
        kept = select(_KEPT_KEYS.key, func.sum(_KEPT_KEYS.datasets))
        statement = kept.where(_KEPT_KEYS.base_uri.in_(query.base_uris)).group_by(_KEPT_KEYS.key)
    else:
        grouped = select(_A.key, func.count()).where(*_facet_rows(query, where))
        statement = grouped.group_by(_A.key)
    return {str(key): int(count) for key, count in sorted(conn.execute(statement))}


def value_counts(
    conn: Connection, query: SearchQuery, where: Sequence[ColumnElement[bool]]
) -> dict[str, dict[str, int]]:
    """Return ``{key: {value: datasets}}`` for the keys the query names."""
    keys = keys_of_interest(query.annotations, query.annotation_keys)
    if not keys:
        return {}
    if len(keys) == 1 and not query.annotations:
        # NOTE(dev): the rows counted are those of the one key: no need to ask for it twice.
        query = dataclasses.replace(query, annotation_keys=())
    if _unfiltered(query):
        kept = select(_KEPT.key, _KEPT.value, func.sum(_KEPT.datasets))
        where_kept = (_KEPT.key.in_(keys), _KEPT.base_uri.in_(query.base_uris))
        statement = kept.where(*where_kept).group_by(_KEPT.key, _KEPT.value)
    else:
        grouped = select(_A.key, _A.value, func.count())
        statement = grouped.where(_A.key.in_(keys), *_facet_rows(query, where))
        statement = statement.group_by(_A.key, _A.value)
    counts: dict[str, dict[str, int]] = {}
    for key, value, count in sorted(conn.execute(statement)):
        counts.setdefault(str(key), {})[str(value)] = int(count)
    return counts


def write_annotations(
    conn: Connection, records: Sequence[DatasetRecord], stale: Sequence[int], ids: dict[str, int]
) -> None:
    """Replace the annotation rows of ``records`` (``stale``: ids of rows already there)."""
    changes: Counter[Pair] = Counter()
    for chunk in _chunks(list(stale)):
        _count_out(changes, conn, _A.dataset_id.in_(chunk))
    rows = list(_annotation_rows(records, ids))
    if rows:
        insert_rows(conn, dataset_annotations, rows)
        changes.update((row["base_uri"], row["key"], row["value"]) for row in rows)
    add_pairs(conn, changes)


def remove_annotations(conn: Connection, dataset_ids: Select[tuple[int]]) -> None:
    """Delete the annotation rows of the datasets ``dataset_ids`` selects, and their counts."""
    changes: Counter[Pair] = Counter()
    _count_out(changes, conn, _A.dataset_id.in_(dataset_ids))
    add_pairs(conn, changes)


def _count_out(changes: Counter[Pair], conn: Connection, where: ColumnElement[bool]) -> None:
    """Delete the annotation rows ``where`` selects; count them out of ``changes``."""
    removed = delete(dataset_annotations).where(where).returning(_A.base_uri, _A.key, _A.value)
    changes.subtract(tuple(row) for row in conn.execute(removed))


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


def _unfiltered(query: SearchQuery) -> bool:
    """Tell whether ``query`` asks for nothing but its base URIs (kept counts answer it)."""
    return query == SearchQuery(query.base_uris)


def _chunks(values: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
