"""Store revisions: what keeps every process's caches exact, at one query per request.

Every write bumps its store's row in ``revisions`` inside the same
transaction. A reader first fetches that number (one primary-key lookup)
and serves counts, summaries and users from an in-process ``RevisionCache``
keyed on it, so a write, from any process, makes the next read miss. In a
``revision_view`` (one per API request) the revisions of a database are
fetched together, once.

On PostgreSQL the revision query goes to libpq directly, prepared once per
connection: psycopg's cursor costs about 30 µs of the 65 µs this query takes
over loopback, and every API request makes it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Hashable, Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, update

from lookup_events.errors import StoreUnavailable
from lookup_events.store.sql_schema import revisions

_READ_REVISION = "SELECT value FROM revisions WHERE name = ?"
_READ_REVISION_PG = _READ_REVISION.replace("?", "$1")
_READ_ALL = "SELECT name, value FROM revisions"
# Names of the statements prepared on each PostgreSQL revision connection.
_PREPARED = {
    _READ_REVISION_PG: b"dtool_lookup_read_revision",
    _READ_ALL: b"dtool_lookup_read_revisions",
}
_NOT_PREPARED = b"26000"  # SQLSTATE invalid_sql_statement_name


def bump_revision(connection: Connection, name: str) -> None:
    """Increment the store's revision inside the caller's write transaction."""
    connection.execute(
        update(revisions).where(revisions.c.name == name).values(value=revisions.c.value + 1)
    )
    view = _REVISION_VIEW.get()
    if view is not None:
        view.clear()  # later reads in this view must see this write


# Revisions read so far in the current view, by (database, name); None outside one.
_REVISION_VIEW: ContextVar[dict[tuple[str, str], int] | None] = ContextVar(
    "lookup_revision_view", default=None
)


@contextlib.contextmanager
def revision_view() -> Iterator[None]:
    """Within the block, read every revision of a database at most once.

    The first revision read fetches all of that database's revisions in one
    query, so an API request whose admin and dataset stores share a database
    makes one round trip for both. A write in the block forgets them.
    """
    token = _REVISION_VIEW.set({})
    try:
        yield
    finally:
        _REVISION_VIEW.reset(token)


class RevisionReader:
    """Reads a store's revision on a raw, autocommit connection per thread.

    This is the one query every cached read makes, so it bypasses the
    SQLAlchemy pool and transaction machinery: a few microseconds on
    SQLite, one round trip on PostgreSQL. A kept connection that fails
    (the server restarted) is replaced at once; one made before a fork is
    never used by the child.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._database = engine.url.render_as_string(hide_password=True)
        self._postgres = engine.dialect.name == "postgresql"
        self._sql = _READ_REVISION_PG if self._postgres else _READ_REVISION
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def read(self, name: str) -> int:
        """Return the current revision of ``name`` (0 if it has none)."""
        view = _REVISION_VIEW.get()
        if view is None:
            rows = self._query(self._sql, (name,))
            return int(rows[0][0]) if rows else 0
        if (self._database, name) not in view:
            view.update(((self._database, n), int(v)) for n, v in self._query(_READ_ALL, ()))
        return view.get((self._database, name), 0)

    def _query(self, sql: str, parameters: tuple[str, ...]) -> list[Any]:
        """Run ``sql``; a kept connection that fails is replaced and the query retried once."""
        while True:
            connection, fresh = self._connection()
            try:
                if self._postgres:
                    return _libpq_rows(connection.pgconn, sql, parameters)
                cursor = connection.cursor()
                cursor.execute(sql, parameters)
                rows = list(cursor.fetchall())
                cursor.close()
                return rows
            except Exception as ex:
                self._local.connection = None
                _close_quietly(connection)
                if fresh:
                    raise StoreUnavailable(f"database unavailable: {ex}") from ex

    def _connection(self) -> tuple[Any, bool]:
        """Return this thread's connection, and whether it was opened just now."""
        opened = getattr(self._local, "connection", None)
        if opened is not None and opened[0] == os.getpid():
            return opened[1], False
        try:
            proxied = self._engine.raw_connection()
        except Exception as ex:  # the pool raises driver errors unwrapped here
            raise StoreUnavailable(f"database unavailable: {ex}") from ex
        connection = proxied.driver_connection
        proxied.detach()
        if self._postgres:
            connection.autocommit = True  # type: ignore[union-attr]
            try:
                _prepare(connection.pgconn)  # type: ignore[union-attr]
            except ConnectionError as ex:
                _close_quietly(connection)
                raise StoreUnavailable(f"database unavailable: {ex}") from ex
        self._local.connection = (os.getpid(), connection)
        with self._lock:
            self._opened.append(connection)
        return connection, True

    def close(self) -> None:
        """Close every connection this reader opened."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            _close_quietly(connection)
        self._local = threading.local()


def _prepare(pgconn: Any) -> None:
    """Prepare the revision queries on a new PostgreSQL connection."""
    for sql, name in _PREPARED.items():
        _check(pgconn.prepare(name, sql.encode()), pgconn)


def _libpq_rows(pgconn: Any, sql: str, parameters: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Run one of the prepared revision queries; return its rows as text.

    Behind a pooler in transaction mode the next query may reach a server
    connection the statement was never prepared on: it is then sent whole.
    """
    values = [parameter.encode() for parameter in parameters]
    result = pgconn.exec_prepared(_PREPARED[sql], values)
    if result.error_field(_pq().DiagnosticField.SQLSTATE) == _NOT_PREPARED:
        result = pgconn.exec_params(sql.encode(), values)
    _check(result, pgconn)
    columns = range(result.nfields)
    return [
        tuple(result.get_value(row, column).decode() for column in columns)
        for row in range(result.ntuples)
    ]


def _check(result: Any, pgconn: Any) -> None:
    """Raise the server's error when ``result`` is not a success."""
    status = _pq().ExecStatus
    if result.status not in (status.TUPLES_OK, status.COMMAND_OK):
        message = result.error_message or pgconn.error_message
        raise ConnectionError(message.decode(errors="replace").strip())


def _pq() -> Any:
    """Return psycopg's libpq wrapper (PostgreSQL comes with the postgres extra)."""
    from psycopg import pq  # noqa: PLC0415 - the postgres extra is optional

    return pq


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:
        return


class RevisionCache:
    """Values computed at one revision; a newer revision empties it.

    Its size is bounded by the summed ``weight`` of its values (a page of
    results weighs its number of entries); when full it starts afresh.
    """

    def __init__(self, max_weight: int = 50_000) -> None:
        self._revision = -1
        self._values: dict[Hashable, Any] = {}
        self._weight = 0
        self._max_weight = max_weight
        self._lock = threading.Lock()

    def get(self, revision: int, key: Hashable) -> Any:
        """Return the value cached for ``key`` at ``revision``, or None."""
        if revision != self._revision:
            return None
        return self._values.get(key)

    def put(self, revision: int, key: Hashable, value: Any, weight: int = 1) -> None:
        """Remember ``value`` for ``key`` at ``revision``."""
        with self._lock:
            if revision < self._revision:
                return
            if revision > self._revision or self._weight + weight > self._max_weight:
                self._values = {}
                self._weight = 0
                self._revision = revision
            self._values[key] = value
            self._weight += weight

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._values = {}
            self._weight = 0
            self._revision = -1
