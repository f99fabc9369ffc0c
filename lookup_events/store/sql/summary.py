"""Facet counts in SQL: three GROUP BY queries, never a row per dataset."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, func, select

from lookup_events.store.protocols import Summary
from lookup_events.store.sql.schema import dataset_tags, datasets


def _facet(table: Table, key: str) -> Select[Any]:
    size = func.coalesce(func.sum(table.c.size_in_bytes), 0)
    where = table.c.base_uri.in_(bindparam("base_uris", expanding=True))
    return select(table.c[key], func.count(), size).where(where).group_by(table.c[key])


_PER_CREATOR = _facet(datasets, "creator_username")
_PER_BASE_URI = _facet(datasets, "base_uri")
_PER_TAG = _facet(dataset_tags, "tag")


def summarise(conn: Connection, base_uris: tuple[str, ...]) -> Summary:
    """Return the summary of the datasets in ``base_uris``, computed by the database."""
    params = {"base_uris": list(base_uris)}
    facets = []
    for query in (_PER_CREATOR, _PER_BASE_URI, _PER_TAG):
        rows = sorted((str(k), int(n), int(s)) for k, n, s in conn.execute(query, params))
        facets.append(
            ({key: count for key, count, _ in rows}, {key: size for key, _, size in rows})
        )
    (count_creator, size_creator), (count_base, size_base), (count_tag, size_tag) = facets
    return Summary(
        number_of_datasets=sum(count_base.values()),
        datasets_per_creator=count_creator,
        datasets_per_base_uri=count_base,
        datasets_per_tag=count_tag,
        total_size_in_bytes=sum(size_base.values()),
        size_in_bytes_per_creator=size_creator,
        size_in_bytes_per_base_uri=size_base,
        size_in_bytes_per_tag=size_tag,
    )
