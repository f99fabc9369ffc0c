"""A summary in SQL: the kept counts of its base URIs (``counts.py``), never a row per dataset."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from lookup_events.store.protocols import Summary
from lookup_events.store.sql.schema import summary_counts

_IN_BASE_URIS = summary_counts.c.base_uri.in_(bindparam("base_uris", expanding=True))
_DATASETS = func.sum(summary_counts.c.datasets)
_SIZE = func.sum(summary_counts.c.size_in_bytes)
# NOTE(dev): the database adds up the base URIs' rows (a few thousand: the
# pairs of base URI and creator or tag); Python sees one row a creator or tag.
_PER_VALUE = (
    select(summary_counts.c.facet, summary_counts.c.value, _DATASETS, _SIZE)
    .where(_IN_BASE_URIS)
    .group_by(summary_counts.c.facet, summary_counts.c.value)
)
# Every dataset has one creator, so its base URI's creator rows add up to it.
_PER_BASE_URI = (
    select(summary_counts.c.base_uri, _DATASETS, _SIZE)
    .where(_IN_BASE_URIS, summary_counts.c.facet == "creator")
    .group_by(summary_counts.c.base_uri)
)


def summarise(conn: Connection, base_uris: tuple[str, ...]) -> Summary:
    """Return the summary of the datasets in ``base_uris`` from the kept counts."""
    params = {"base_uris": list(base_uris)}
    per_base_uri = _split(conn.execute(_PER_BASE_URI, params))
    per_facet: dict[str, list[Any]] = {"creator": [], "tag": []}
    for facet, value, datasets, size in conn.execute(_PER_VALUE, params):
        per_facet[facet].append((value, datasets, size))
    per_creator, per_tag = _split(per_facet["creator"]), _split(per_facet["tag"])
    return Summary(
        number_of_datasets=sum(per_base_uri[0].values()),
        datasets_per_creator=per_creator[0],
        datasets_per_base_uri=per_base_uri[0],
        datasets_per_tag=per_tag[0],
        total_size_in_bytes=sum(per_base_uri[1].values()),
        size_in_bytes_per_creator=per_creator[1],
        size_in_bytes_per_base_uri=per_base_uri[1],
        size_in_bytes_per_tag=per_tag[1],
    )


def _split(rows: Any) -> tuple[dict[str, int], dict[str, int]]:
    """Return ``(key, datasets, size)`` rows as datasets and sizes by key, in key order."""
    ordered = sorted((str(key), int(datasets), int(size)) for key, datasets, size in rows)
    return {k: n for k, n, _ in ordered}, {k: s for k, _, s in ordered}
