"""The outbox: dataset writes recorded in their own transaction, read in order.

``SqlDatasetStore`` calls ``record_written`` and ``record_removed`` inside
the transaction that writes or deletes the records, so the subscriptions'
deliverer sees exactly the committed writes. ``SqlChangeFeed`` reads them
oldest first and deletes what it has matched; rows committed out of id order
(concurrent writers on PostgreSQL) are read on a later pass, since nothing
but the deliverer deletes them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from lookup_events.errors import DatabaseUnavailable
from lookup_events.model import DatasetRecord
from lookup_events.store.feeds import Change
from lookup_events.store.sql.bulk import insert_rows
from lookup_events.store.sql.engine import reader, translate_errors, writer
from lookup_events.store.sql.schema import dataset_changes

_CHUNK = 500


def record_written(conn: Connection, records: Sequence[DatasetRecord]) -> None:
    """Add one change per written record to the outbox, in ``conn``'s transaction."""
    now = time.time()
    rows = [
        {
            "uri": record.uri,
            "base_uri": record.entry.base_uri,
            "uuid": record.entry.uuid,
            "name": record.entry.name,
            "removed": False,
            "committed_at": now,
        }
        for record in records
    ]
    insert_rows(conn, dataset_changes, rows)


def record_removed(conn: Connection, removed: Sequence[Any]) -> None:
    """Add one change per deleted row (``uri``, ``base_uri``, ``uuid``, ``name``)."""
    now = time.time()
    rows = [
        {
            "uri": row.uri,
            "base_uri": row.base_uri,
            "uuid": row.uuid,
            "name": row.name,
            "removed": True,
            "committed_at": now,
        }
        for row in removed
    ]
    if rows:
        conn.execute(insert(dataset_changes), rows)


class SqlChangeFeed:
    """ChangeFeed over the dataset store's database."""

    def __init__(self, engine: Engine) -> None:
        self._reader = reader(engine)
        self._writer = writer(engine)

    @translate_errors(DatabaseUnavailable)
    def changes(self, limit: int) -> list[Change]:
        """Return up to ``limit`` changes in commit order (by id)."""
        statement = select(dataset_changes).order_by(dataset_changes.c.id).limit(limit)
        with self._reader.connect() as conn:
            return [Change(**row._mapping) for row in conn.execute(statement)]

    @translate_errors(DatabaseUnavailable)
    def forget(self, ids: Iterable[int]) -> None:
        """Delete the changes with these ids (they were matched)."""
        wanted = list(ids)
        with self._writer.begin() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                conn.execute(delete(dataset_changes).where(dataset_changes.c.id.in_(chunk)))
