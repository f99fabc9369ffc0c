"""Datasets per base URI (``dataset_counts``), kept in the transaction of every write.

An unfiltered list or search over some base URIs has as its exact total the
sum of their counts: no count of every visible row after each write. A
write changes the counts of the base URIs it added datasets to or removed
them from, last in its transaction, in base-URI order, so concurrent
writers on PostgreSQL hold a count's row lock only until they commit and
never wait for each other in a cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lookup_events.store.sql.schema import dataset_counts


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
