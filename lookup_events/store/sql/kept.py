"""Raw driver connections kept one per thread, for reads that bypass SQLAlchemy.

``RevisionReader`` (every cached read) and ``CopyReader`` (a lookup's first
answer) each send one small query per read, which through SQLAlchemy's pool
and execution machinery would cost several times the query itself
(``docs/measurements.md``). So each keeps a driver connection per thread,
detached from the engine's pool: ``sqlite3`` as it comes, or psycopg in
autocommit with its statement prepared through libpq.

A kept connection belongs to the process that opened it. After a fork the
child never uses one it inherited: it drops it, without closing the
parent's socket, and opens its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine

from lookup_events.errors import DatabaseUnavailable
from lookup_events.processes import current_pid

_NOT_PREPARED = b"26000"  # SQLSTATE invalid_sql_statement_name

R = TypeVar("R")


@dataclass
class _Kept:
    """One thread's raw connection, and the process that opened it."""

    pid: int
    connection: Any


class KeptConnections:
    """One raw driver connection per thread, opened from an engine when first asked for."""

    def __init__(self, engine: Engine, prepare: Callable[[Any], None]) -> None:
        """Keep connections of ``engine``.

        Args:
            engine: the engine whose pool opens each connection (then lets it go).
            prepare: run on each new PostgreSQL connection's libpq ``pgconn``
                (after autocommit is set); raises ``ConnectionError`` on failure.
        """
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._prepare = prepare
        self._local = threading.local()
        self._opened: list[_Kept] = []
        self._lock = threading.Lock()

    def get(self) -> tuple[Any, bool]:
        """Return this thread's connection, and whether it was opened just now.

        Raises:
            DatabaseUnavailable: no connection could be opened or prepared.
        """
        kept: _Kept | None = getattr(self._local, "kept", None)
        if kept is not None and kept.pid == current_pid():
            return kept.connection, False
        self._local.kept = kept = _Kept(current_pid(), self._open())
        with self._lock:
            self._opened.append(kept)
        return kept.connection, True

    def run(self, query: Callable[[Any, bool], R], passes: tuple[type[Exception], ...] = ()) -> R:
        """Return ``query(connection, fresh)`` on this thread's connection.

        A connection that fails is replaced, once: a failure on one opened
        just now means the database is unreachable. An exception of
        ``passes`` is the query's own answer: raised as it is, the
        connection kept.

        Raises:
            DatabaseUnavailable: no connection could be opened, or a new one failed.
        """
        while True:
            connection, fresh = self.get()
            try:
                return query(connection, fresh)
            except passes:
                raise
            except Exception as ex:
                self.discard()
                if fresh:
                    raise DatabaseUnavailable(f"database unavailable: {ex}") from ex

    def discard(self) -> None:
        """Close this thread's connection, which failed; the next ``get`` opens another."""
        kept: _Kept | None = getattr(self._local, "kept", None)
        self._local.kept = None
        if kept is None or kept.pid != current_pid():
            return
        with self._lock:
            self._opened = [other for other in self._opened if other is not kept]
        _close_quietly(kept.connection)

    def close(self) -> None:
        """Close every connection this process opened here (not a forked child's parent's)."""
        with self._lock:
            opened, self._opened = self._opened, []
        pid = current_pid()
        for kept in opened:
            if kept.pid == pid:
                _close_quietly(kept.connection)
        self._local = threading.local()

    def _open(self) -> Any:
        """Open a driver connection detached from the engine's pool, prepared for use."""
        try:
            proxied = self._engine.raw_connection()
        except Exception as ex:  # the pool raises driver errors unwrapped here
            raise DatabaseUnavailable(f"database unavailable: {ex}") from ex
        connection = proxied.driver_connection
        proxied.detach()
        if self._postgres:
            connection.autocommit = True  # type: ignore[union-attr]
            try:
                self._prepare(connection.pgconn)  # type: ignore[union-attr]
            except ConnectionError as ex:
                _close_quietly(connection)
                raise DatabaseUnavailable(f"database unavailable: {ex}") from ex
        return connection


def run_prepared(pgconn: Any, name: bytes, sql: str, parameters: list[bytes]) -> Any:
    """Run the statement prepared as ``name``; return libpq's result.

    Behind a pooler in transaction mode the statement may reach a server
    connection it was never prepared on: it is then sent whole, as ``sql``.
    """
    result = pgconn.exec_prepared(name, parameters)
    if result.error_field(libpq().DiagnosticField.SQLSTATE) == _NOT_PREPARED:
        result = pgconn.exec_params(sql.encode(), parameters)
    return result


def check_result(result: Any, pgconn: Any) -> None:
    """Raise the server's error as ``ConnectionError`` when ``result`` is not a success."""
    status = libpq().ExecStatus
    if result.status not in (status.TUPLES_OK, status.COMMAND_OK):
        raise ConnectionError(server_error(result, pgconn))


def server_error(result: Any, pgconn: Any) -> str:
    """Return the message of a failed ``result`` (or of its connection)."""
    message: bytes = result.error_message or pgconn.error_message
    return message.decode(errors="replace").strip()


def libpq() -> Any:
    """Return psycopg's libpq wrapper (PostgreSQL comes with the postgres extra)."""
    from psycopg import pq  # noqa: PLC0415 - the postgres extra is optional

    return pq


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:
        return
