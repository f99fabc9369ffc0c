"""Counts kept in the transaction of every write.

``dataset_counts`` holds the datasets per base URI: an unfiltered list or
search over some base URIs has as its exact total the sum of their counts,
no count of every visible row after each write. ``summary_counts`` holds
the datasets and bytes per base URI and creator or tag: a summary reads the
rows of its base URIs instead of grouping every dataset they hold.

A write changes the counts it moved, last in its transaction, in key order,
so concurrent writers on PostgreSQL hold a count's row lock only until they
commit and never wait for each other in a cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lookup_events.store.sql.schema import dataset_counts, summary_counts

# A summary row's key: base URI, "creator" or "tag", and the creator or tag.
Facet = tuple[str, str, str]
_KEY = ("base_uri", "facet", "value")


def _upsert(insert: Any) -> Any:
    statement = insert(summary_counts)
    return statement.on_conflict_do_update(
        index_elements=[summary_counts.c[name] for name in _KEY],
        set_={
            "datasets": summary_counts.c.datasets + statement.excluded.datasets,
            "size_in_bytes": summary_counts.c.size_in_bytes + statement.excluded.size_in_bytes,
        },
    )


_UPSERTS = {"postgresql": _upsert(postgres_insert), "sqlite": _upsert(sqlite_insert)}
_DELETE_EMPTY = delete(summary_counts).where(
    and_(*(summary_counts.c[name] == bindparam(f"key_{name}") for name in _KEY)),
    summary_counts.c.datasets == 0,
)


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

    def moved(self) -> list[Facet]:
        """Return the facets whose datasets or bytes changed, in key order."""
        changed = self.datasets.keys() | self.size.keys()
        return sorted(key for key in changed if self.datasets[key] or self.size[key])


def add_counts(conn: Connection, changes: Counter[str]) -> None:
    """Add ``changes`` (datasets added, or removed if negative, by base URI) to the counts."""
    insert = postgres_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for base_uri in sorted(uri for uri, change in changes.items() if change):
        statement = insert(dataset_counts).values(base_uri=base_uri, datasets=changes[base_uri])
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[dataset_counts.c.base_uri],
                set_={"datasets": dataset_counts.c.datasets + statement.excluded.datasets},
            )
        )


def datasets_in(conn: Connection, base_uris: Iterable[str]) -> int:
    """Return how many datasets ``base_uris`` hold together."""
    total = select(func.coalesce(func.sum(dataset_counts.c.datasets), 0)).where(
        dataset_counts.c.base_uri.in_(sorted(set(base_uris)))
    )
    return int(conn.execute(total).scalar_one())


def add_facets(conn: Connection, changes: FacetChanges) -> None:
    """Add ``changes`` to the summary counts; drop the rows left with no dataset."""
    moved = changes.moved()
    if not moved:
        return
    rows = [
        {
            **dict(zip(_KEY, key, strict=True)),
            "datasets": changes.datasets[key],
            "size_in_bytes": changes.size[key],
        }
        for key in moved
    ]
    conn.execute(_UPSERTS[conn.dialect.name], rows)
    emptied = [key for key in moved if changes.datasets[key] < 0]
    if emptied:
        conn.execute(
            _DELETE_EMPTY,
            [{f"key_{n}": v for n, v in zip(_KEY, key, strict=True)} for key in emptied],
        )
