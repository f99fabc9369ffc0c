"""Counts kept in the transaction of every write.

``dataset_counts`` holds the datasets per base URI: an unfiltered list or
search over some base URIs has as its exact total the sum of their counts,
no count of every visible row after each write. ``summary_counts`` holds
the datasets and bytes per base URI and creator or tag: a summary reads the
rows of its base URIs instead of grouping every dataset they hold.
``annotation_key_counts`` and ``annotation_counts`` hold the datasets per
base URI and annotation key, and per base URI and annotation pair:
unfiltered annotation facets read them likewise (``facets.py``).

A write moves the counts it changed in one statement per table, in key
order, and removes the rows it left at zero datasets. Every write first
bumps the datasets revision (``revisions.bump_revision``), so writers on
PostgreSQL take the counts' row locks one transaction at a time.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect

from lookup_events.store.sql.schema import (
    annotation_counts,
    annotation_key_counts,
    dataset_counts,
    summary_counts,
)

# A summary row's key: base URI, "creator" or "tag", and the creator or tag.
Facet = tuple[str, str, str]
# An annotation count's key: base URI, annotation key and canonical value.
Pair = tuple[str, str, str]
# What a write moves: by a row's key, the change of each summed column (datasets first).
Deltas = Mapping[tuple[str, ...], tuple[int, ...]]


@dataclass(frozen=True)
class KeptTable:
    """A table of kept counts: the columns of its key and those summed (datasets first)."""

    table: Table
    key: tuple[str, ...]
    sums: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the key's columns, then the summed ones: the order of a row of changes."""
        return self.key + self.sums


PER_BASE_URI = KeptTable(dataset_counts, ("base_uri",), ("datasets",))
PER_FACET = KeptTable(
    summary_counts, ("base_uri", "facet", "value"), ("datasets", "size_in_bytes")
)
PER_KEY = KeptTable(annotation_key_counts, ("base_uri", "key"), ("datasets",))
PER_PAIR = KeptTable(annotation_counts, ("base_uri", "key", "value"), ("datasets",))


@dataclass
class FacetChanges:
    """Datasets and bytes a write adds to (or, if negative, removes from) each facet."""

    datasets: Counter[Facet] = field(default_factory=Counter)
    size: Counter[Facet] = field(default_factory=Counter)

    def count(
        self, base_uri: str, creator: str, size: int | None, tags: Sequence[str], sign: int
    ) -> None:
        """Count one dataset in (``sign`` 1) or out of (-1) its creator's and tags' facets."""
        for facet in ((base_uri, "creator", creator), *((base_uri, "tag", t) for t in tags)):
            self.datasets[facet] += sign
            self.size[facet] += sign * (size or 0)

    def deltas(self) -> dict[tuple[str, ...], tuple[int, int]]:
        """Return the change of datasets and bytes by facet."""
        return {
            key: (self.datasets[key], self.size[key])
            for key in self.datasets.keys() | self.size.keys()
        }

    def per_base_uri(self) -> dict[tuple[str, ...], tuple[int]]:
        """Return the change of datasets by base URI: every dataset has one creator facet."""
        moved: Counter[str] = Counter()
        for (base_uri, facet, _), change in self.datasets.items():
            if facet == "creator":
                moved[base_uri] += change
        return {(base_uri,): (change,) for base_uri, change in moved.items()}


def move_counts(conn: Connection, kept: KeptTable, deltas: Deltas) -> None:
    """Add ``deltas`` to ``kept``'s rows (made if missing); drop rows left with no dataset."""
    moved = sorted(key for key, changes in deltas.items() if any(changes))
    if not moved:
        return
    upsert, picks, empty = _statements(kept, conn.dialect)
    rows = [key + deltas[key] for key in moved]
    # NOTE(dev): the compiled upsert goes straight to the driver's executemany
    # (keys and counts need no bind processing): SQLAlchemy's own executemany
    # cost a registration more than the rows themselves (see ``bulk.py``).
    if picks is None:  # named parameters (psycopg)
        conn.exec_driver_sql(upsert, [dict(zip(kept.columns, row, strict=True)) for row in rows])
    else:
        conn.exec_driver_sql(upsert, [tuple(row[at] for at in picks) for row in rows])
    emptied = [key for key in moved if deltas[key][0] < 0]
    if emptied:
        keys = [{f"key_{n}": v for n, v in zip(kept.key, key, strict=True)} for key in emptied]
        conn.execute(empty, keys)


@functools.lru_cache(maxsize=64)
def _statements(kept: KeptTable, dialect: Dialect) -> tuple[str, tuple[int, ...] | None, Any]:
    """Return the driver's upsert adding to ``kept``'s sums, and the delete of empty rows.

    With positional parameters, the upsert's come with where each is in a
    row of ``kept.columns``; None with named ones.
    """
    table = kept.table
    statement = (postgres_insert if dialect.name == "postgresql" else sqlite_insert)(table)
    upsert = statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in kept.key],
        set_={name: table.c[name] + statement.excluded[name] for name in kept.sums},
    ).compile(dialect=dialect)
    empty = delete(table).where(
        *(table.c[name] == bindparam(f"key_{name}") for name in kept.key),
        table.c[kept.sums[0]] == 0,
    )
    order = upsert.positiontup
    picks = None if order is None else tuple(kept.columns.index(name) for name in order)
    return str(upsert), picks, empty


def add_counts(conn: Connection, changes: FacetChanges) -> None:
    """Add ``changes`` to the datasets per base URI and to the summary counts."""
    move_counts(conn, PER_BASE_URI, changes.per_base_uri())
    move_counts(conn, PER_FACET, changes.deltas())


def add_pairs(conn: Connection, changes: Counter[Pair]) -> None:
    """Add ``changes`` (datasets by base URI and annotation pair) to the annotation counts.

    A dataset holds one value a key, so a key's change is the sum of its pairs'.
    """
    keys: Counter[tuple[str, str]] = Counter()
    for (base_uri, key, _), change in changes.items():
        keys[base_uri, key] += change
    move_counts(conn, PER_KEY, {key: (change,) for key, change in keys.items()})
    move_counts(conn, PER_PAIR, {pair: (change,) for pair, change in changes.items()})


def datasets_in(conn: Connection, base_uris: Iterable[str]) -> int:
    """Return how many datasets ``base_uris`` hold together."""
    total = select(func.coalesce(func.sum(dataset_counts.c.datasets), 0)).where(
        dataset_counts.c.base_uri.in_(sorted(set(base_uris)))
    )
    return int(conn.execute(total).scalar_one())
