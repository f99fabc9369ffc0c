"""Engines, error translation and revision-keyed caches for the SQL stores.

Engines are made here (never at import time) with ``pool_pre_ping``; SQLite
connections get WAL, a busy timeout and foreign keys, and their write
transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the
busy timeout instead of failing when one upgrades a read lock.

Caching: every write bumps its store's row in ``revisions`` inside the same
transaction. A reader first fetches that number (one primary-key lookup)
and serves counts, summaries and users from an in-process ``RevisionCache``
keyed on it, so a write, from any process, makes the next read miss.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Hashable
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc, update
from sqlalchemy.engine import make_url

from lookup_events.errors import StoreUnavailable
from lookup_events.store.sql_schema import revisions

P = ParamSpec("P")
R = TypeVar("R")

WRITE = "lookup_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_RECYCLE_SECONDS = 600
_READ_REVISION = "SELECT value FROM revisions WHERE name = ?"


def sql_url(url: str) -> str:
    """Return ``url`` with PostgreSQL mapped to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with this project's connection settings."""
    parsed = make_url(sql_url(url))
    if parsed.get_backend_name() == "sqlite":
        # NOTE(dev): recycled connections reload the planner statistics (see SqliteStatistics).
        engine = create_engine(parsed, pool_pre_ping=True, pool_recycle=SQLITE_RECYCLE_SECONDS)
        _configure_sqlite(engine)
        return engine
    connect_args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # NOTE(dev): take transaction control from the driver so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: Engine) -> Engine:
    """Return ``engine`` marked so its transactions take the write lock at once."""
    return engine.execution_options(**{WRITE: True})


def is_sqlite(engine: Engine) -> bool:
    """Tell whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def translate_errors(
    data_error: type[Exception] = ValueError,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a store method so no SQLAlchemy exception escapes it.

    Unreachable or failing databases become ``StoreUnavailable``; values the
    database refuses (too long, bad bytes) become ``data_error``.
    """

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except exc.SQLAlchemyError as ex:
                if _refused_values(ex):
                    raise data_error(f"the database refused the values: {_reason(ex)}") from ex
                raise StoreUnavailable(f"database unavailable: {_reason(ex)}") from ex

        return wrapper

    return decorate


def _refused_values(ex: exc.SQLAlchemyError) -> bool:
    """Tell whether retrying cannot help: the values themselves were refused."""
    if isinstance(ex, exc.DataError | exc.IntegrityError):
        return True
    # NOTE(dev): PostgreSQL reports "index row too large" and "string is too long
    # for tsvector" as program limits (SQLSTATE class 54), an OperationalError.
    sqlstate = getattr(getattr(ex, "orig", None), "sqlstate", None) or ""
    return sqlstate.startswith(("22", "54"))


def _reason(ex: exc.SQLAlchemyError) -> str:
    orig = getattr(ex, "orig", None)
    return str(orig if orig is not None else ex).strip().splitlines()[0]


def bump_revision(connection: Connection, name: str) -> None:
    """Increment the store's revision inside the caller's write transaction."""
    connection.execute(
        update(revisions).where(revisions.c.name == name).values(value=revisions.c.value + 1)
    )


class RevisionReader:
    """Reads a store's revision on a raw, autocommit connection per thread.

    This is the one query every cached read makes, so it bypasses the
    SQLAlchemy pool and transaction machinery: a few microseconds on
    SQLite, one round trip on PostgreSQL. A connection that fails is
    dropped and reopened on the next call; one made before a fork is
    never used by the child.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        qmark = engine.dialect.paramstyle == "qmark"
        self._sql = _READ_REVISION if qmark else _READ_REVISION.replace("?", "%s")
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def read(self, name: str) -> int:
        """Return the current revision of ``name`` (0 if it has none)."""
        connection = self._connection()
        try:
            cursor = connection.cursor()
            cursor.execute(self._sql, (name,))
            row = cursor.fetchone()
            cursor.close()
        except Exception as ex:
            self._local.connection = None
            _close_quietly(connection)
            raise StoreUnavailable(f"database unavailable: {ex}") from ex
        return int(row[0]) if row is not None else 0

    def _connection(self) -> Any:
        opened = getattr(self._local, "connection", None)
        if opened is not None and opened[0] == os.getpid():
            return opened[1]
        try:
            proxied = self._engine.raw_connection()
        except Exception as ex:  # the pool raises driver errors unwrapped here
            raise StoreUnavailable(f"database unavailable: {ex}") from ex
        connection = proxied.driver_connection
        proxied.detach()
        if self._engine.dialect.name == "postgresql":
            connection.autocommit = True  # type: ignore[union-attr]
        self._local.connection = (os.getpid(), connection)
        with self._lock:
            self._opened.append(connection)
        return connection

    def close(self) -> None:
        """Close every connection this reader opened."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            _close_quietly(connection)
        self._local = threading.local()


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


class PlannerStatistics:
    """Keeps the query planner's statistics in step with a growing dataset table.

    Without them SQLite believes every index is selective and, at 100,000
    datasets, sorts whole tables for one page; PostgreSQL's autovacuum
    catches up only a minute or so after a bulk load. So the writing process
    runs ``ANALYZE`` after its first thousand writes and each time it has
    written four times as many again. On SQLite the first ``ANALYZE``
    changes the schema, so every connection reloads at once; later ones
    reach other processes as their pooled connections are recycled.
    """

    FIRST = 1000

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._written = 0
        self._next = self.FIRST

    def wrote(self, count: int) -> None:
        """Count written records; analyse when the table may have grown a lot."""
        self._written += count
        if self._written < self._next:
            return
        self._next = self._written * 4
        with self._engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE datasets")
            connection.exec_driver_sql("ANALYZE dataset_tags")
