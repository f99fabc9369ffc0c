"""The copies of one dataset, read on a raw connection: a lookup's first answer.

A lookup that misses the revision cache asks for the rows of one UUID, a
few rows found through ``ix_datasets_uuid``. Through SQLAlchemy that read
cost several times the query itself: a pool checkout and its reset, an
execution context, result metadata, and on PostgreSQL psycopg's cursor and
column descriptions (``docs/measurements.md``). So, as ``RevisionReader``
does for revisions, ``CopyReader`` keeps one raw connection per thread from
the engine of reads (``KeptConnections``, ``store/sql/kept.py``) and sends
one prepared statement on it: ``sqlite3``
directly, or libpq through psycopg's ``pgconn`` (text results, parsed here
exactly as psycopg's text loaders parse them). A kept connection that fails
is replaced once; one made before a fork is never used by the child.
A lookup sorted as dserver's ``/uuids/<uuid>`` sorts (``+uri`` by default)
sends the same statement with its ``ORDER BY`` (the server's collation decides,
as through SQLAlchemy), unprepared on PostgreSQL.

The statement bound of reads holds here too: PostgreSQL connections of the
read engine carry their ``statement_timeout``; on SQLite the reader sets
the same progress handler ``engine.timed_reads`` sets.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine

from lookup_events.errors import QueryTimedOut
from lookup_events.model import ENTRY_FIELDS, DatasetEntry
from lookup_events.store.protocols import DATASET_SORT_FIELDS, SortKey
from lookup_events.store.sql.kept import (
    KeptConnections,
    check_result,
    libpq,
    run_prepared,
    server_error,
)
from lookup_events.store.sql.query import checked_sort

R = TypeVar("R")

COLUMNS = ENTRY_FIELDS
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM datasets WHERE uuid = {{}} ORDER BY id"
_SELECT_SORTED = f"SELECT {', '.join(COLUMNS)} FROM datasets WHERE uuid = {{}} ORDER BY {{}}, id"
_PREPARED_NAME = b"dtool_lookup_copies"
_QUERY_CANCELED = b"57014"  # SQLSTATE query_canceled: the statement timeout
_SQLITE_INTERRUPTED = "interrupted"
_SQLITE_PROGRESS_STEPS = 10_000  # as engine.timed_reads


class CopyReader:
    """Reads every row of one UUID on a raw connection per thread, in registration order."""

    def __init__(self, engine: Engine, timeout: float | None = None) -> None:
        self._postgres = engine.dialect.name == "postgresql"
        self._timeout = timeout or None
        self._connections = KeptConnections(engine, _prepare)

    def read(self, uuid: str, sort: Sequence[SortKey] = ()) -> list[DatasetEntry]:
        """Return the entry of every copy of ``uuid`` (every base URI), sorted, then by row id.

        Raises:
            ValueError: a sort field is not one of ``DATASET_SORT_FIELDS``.
            QueryTimedOut: the read ran past the time budget of reads.
            DatabaseUnavailable: the database cannot be reached.
        """
        ordering = order_clause(sort) if sort else None
        if self._postgres:
            rows = functools.partial(_postgres_rows, ordering=ordering)
            return _postgres_entries(self._run(rows, uuid))
        rows = functools.partial(self._sqlite_rows, ordering=ordering)
        return _sqlite_entries(self._run(rows, uuid))

    def _run(self, query: Callable[[Any, str], R], uuid: str) -> R:
        """Run ``query`` on this thread's connection; replace a failing one, once."""
        return self._connections.run(
            lambda connection, _fresh: query(connection, uuid), passes=(QueryTimedOut,)
        )

    def _sqlite_rows(
        self, connection: sqlite3.Connection, uuid: str, ordering: str | None
    ) -> list[Any]:
        if self._timeout is not None:
            connection.set_progress_handler(_past(self._timeout), _SQLITE_PROGRESS_STEPS)
        statement = (
            _SELECT.format("?") if ordering is None else _SELECT_SORTED.format("?", ordering)
        )
        try:
            return connection.execute(statement, (uuid,)).fetchall()
        except sqlite3.OperationalError as ex:
            if str(ex) == _SQLITE_INTERRUPTED:
                raise QueryTimedOut(f"the query ran out of time: {ex}") from ex
            raise

    def close(self) -> None:
        """Close every connection this reader opened."""
        self._connections.close()


def order_clause(sort: Sequence[SortKey]) -> str:
    """Return the ``ORDER BY`` list of ``sort`` (row id last, added by the statement).

    Raises:
        ValueError: a sort field is not one of ``DATASET_SORT_FIELDS``.
    """
    checked = checked_sort(sort, DATASET_SORT_FIELDS)
    return ", ".join(f"{key.field} {'DESC' if key.descending else 'ASC'}" for key in checked)


def _past(seconds: float) -> Callable[[], bool]:
    """Return a progress handler that stops the statement ``seconds`` from now."""
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() > deadline


def _prepare(pgconn: Any) -> None:
    """Prepare the statement on a new PostgreSQL connection."""
    check_result(pgconn.prepare(_PREPARED_NAME, _SELECT.format("$1").encode()), pgconn)


def _postgres_rows(connection: Any, uuid: str, ordering: str | None = None) -> Any:
    """Run the prepared statement (or, sorted, the whole one); return its result (text values).

    Behind a pooler in transaction mode the statement may reach a server
    connection it was never prepared on: it is then sent whole.

    Raises:
        QueryTimedOut: the statement timeout stopped it (the connection is kept).
        ConnectionError: any other failure (the connection is replaced).
    """
    pgconn, pq = connection.pgconn, libpq()
    if ordering is None:
        result = run_prepared(pgconn, _PREPARED_NAME, _SELECT.format("$1"), [uuid.encode()])
    else:
        result = pgconn.exec_params(
            _SELECT_SORTED.format("$1", ordering).encode(), [uuid.encode()]
        )
    state = result.error_field(pq.DiagnosticField.SQLSTATE)
    if result.status != pq.ExecStatus.TUPLES_OK:
        message = server_error(result, pgconn)
        if state == _QUERY_CANCELED:
            raise QueryTimedOut(f"the query ran out of time: {message}")
        raise ConnectionError(message)
    return result


def _postgres_entries(result: Any) -> list[DatasetEntry]:
    """Return the entries of a result, parsing text as psycopg's text loaders do."""
    value = result.get_value
    entries = []
    for row in range(result.ntuples):
        items, size = value(row, 7), value(row, 8)
        entries.append(
            DatasetEntry(
                value(row, 0).decode(),
                value(row, 1).decode(),
                value(row, 2).decode(),
                value(row, 3).decode(),
                value(row, 4).decode(),
                float(value(row, 5)),
                float(value(row, 6)),
                None if items is None else int(items),
                None if size is None else int(size),
                value(row, 9).decode(),
                tuple(json.loads(value(row, 10))),
                json.loads(value(row, 11)),
            )
        )
    return entries


def _sqlite_entries(rows: list[Any]) -> list[DatasetEntry]:
    """Return the entries of SQLite rows (JSON columns hold text)."""
    return [
        DatasetEntry(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            float(row[5]),
            float(row[6]),
            row[7],
            row[8],
            row[9],
            tuple(json.loads(row[10])),
            json.loads(row[11]),
        )
        for row in rows
    ]
