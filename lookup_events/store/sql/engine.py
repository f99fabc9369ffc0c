"""Engines, error translation and revision-keyed caches for the SQL stores.

Engines are made here (never at import time). A pooled connection is
pinged only when it comes back from a rest of ``PING_AFTER_IDLE_SECONDS``
(a busy connection proves itself on every query; a ping per checkout cost
PostgreSQL requests a round trip each). SQLite connections get WAL, a
busy timeout and foreign keys; their reads run without a transaction and
their write transactions start with ``BEGIN IMMEDIATE`` so two writers
queue on the busy timeout instead of failing when one upgrades a read lock.
Reads on PostgreSQL run in autocommit mode (no BEGIN/ROLLBACK round trips).

The revisions that keep every process's caches exact are in ``sql.revisions``.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from lookup_events.errors import DatabaseUnavailable, QueryTimedOut

P = ParamSpec("P")
R = TypeVar("R")

WRITE = "lookup_write"
READ = "lookup_read"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_RECYCLE_SECONDS = 600
# Rows of each index SQLite's ANALYZE looks at (SQLite's advice: 100 to 1,000).
SQLITE_ANALYSIS_LIMIT = 1000
PING_AFTER_IDLE_SECONDS = 5.0
POSTGRES_RANDOM_PAGE_COST = 1.1
# The least work_mem a session gets (a server configured with more keeps its own).
POSTGRES_WORK_MEM = "32MB"
_RESTING_SINCE = "lookup_resting_since"
# SQLite virtual-machine steps between two looks at a read's deadline (~1 ms).
_SQLITE_PROGRESS_STEPS = 10_000
# PostgreSQL's "canceling statement due to statement timeout".
_QUERY_CANCELED = "57014"
# What sqlite3 says when the progress handler stops a statement.
_SQLITE_INTERRUPTED = "interrupted"
# Planner settings of a free-text query's transaction on PostgreSQL (see text_reader).
_BITMAP_SCANS_ONLY = (
    "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)"
)

_AT_LEAST_WORK_MEM = (
    "SELECT set_config('work_mem', %s, false)"
    " WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(%s)"
)


def sql_url(url: str) -> str:
    """Return ``url`` with PostgreSQL mapped to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, statement_timeout_ms: int | None = None) -> Engine:
    """Create an engine for ``url`` with this project's connection settings.

    ``statement_timeout_ms`` bounds every statement on PostgreSQL (for the
    engine of reads, ``timed_reads``).
    """
    parsed = make_url(sql_url(url))
    if parsed.get_backend_name() == "sqlite":
        # NOTE(dev): recycled connections reload the planner statistics (see SqliteStatistics).
        engine = create_engine(parsed, pool_recycle=SQLITE_RECYCLE_SECONDS)
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = 10
        if statement_timeout_ms:
            connect_args["options"] = f"-c statement_timeout={statement_timeout_ms}"
    engine = create_engine(parsed, connect_args=connect_args)
    _ping_after_rest(engine)
    if parsed.get_backend_name() == "postgresql":
        _configure_postgres(engine)
    return engine


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # NOTE(dev): most tsvectors live in TOAST, so the planner prices a
        # sequential scan of dataset_texts by its small heap and prefers it to
        # the GIN index, several times faster here. Pricing a
        # random page as SSDs and cached databases deserve puts the index first.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET random_page_cost = {POSTGRES_RANDOM_PAGE_COST}")
        # NOTE(dev): a query's ordered ids (up to 250,000, cached for its pages) are
        # sorted in work_mem; at the default 4 MB more than about 130,000 spill to
        # disk (an external merge sort, docs/scale-out.md), in memory they do not.
        cursor.execute(_AT_LEAST_WORK_MEM, (POSTGRES_WORK_MEM, POSTGRES_WORK_MEM))
        cursor.close()
        dbapi_connection.autocommit = autocommit


def _ping_after_rest(engine: Engine) -> None:
    """Ping a pooled connection at checkout if it rested; replace it if the ping fails."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RESTING_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        rested = time.monotonic() - record.info.get(_RESTING_SINCE, time.monotonic())
        if rested < PING_AFTER_IDLE_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()  # end the transaction the ping opened
        except Exception as ex:
            # NOTE(dev): the pool discards this connection and checks out a fresh one.
            raise exc.DisconnectionError(str(ex)) from ex


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
        options = connection.get_execution_options()
        if options.get(READ):
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE) else "BEGIN")


def reader(engine: Engine) -> Engine:
    """Return ``engine`` in autocommit mode, for reads.

    No BEGIN and no ROLLBACK around each read: on PostgreSQL that saves two
    round trips per request. Every read is one statement, or several whose
    consistency does not depend on one snapshot (ids, then their rows).
    """
    if is_sqlite(engine):
        # NOTE(dev): our connections already run in the driver's autocommit mode;
        # the option only tells _on_begin not to open a transaction.
        return engine.execution_options(**{READ: True})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def text_reader(engine: Engine) -> Iterator[Connection]:
    """Yield a read connection for a query with free text.

    PostgreSQL prices ``@@`` as one cheap call per row, yet on a row whose
    tsvector lives in TOAST it costs a detoast. Once the statistics say a
    word is in half the datasets, the planner reads every vector in a
    sequential or primary-key scan, three times slower than the GIN index
    and its bitmap heap scan (``docs/measurements.md``), and phrase queries
    fare the same. So a free-text query runs in a transaction of its own
    whose planner may use bitmap (and index-only) scans alone.
    """
    if is_sqlite(engine):
        with reader(engine).connect() as connection:
            yield connection
        return
    with engine.connect() as connection:  # rolled back when returned to the pool
        connection.exec_driver_sql(_BITMAP_SCANS_ONLY)
        yield connection


def timed_reads(engine: Engine, seconds: float | None) -> Engine:
    """Return an engine for reads that stops any statement running over ``seconds``.

    PostgreSQL: a second engine whose sessions start with
    ``statement_timeout`` (a session setting: reads run in autocommit, and
    no read pays a round trip for it); writes keep the unbounded engine.
    SQLite: a progress handler on the same engine stops a read statement
    past its deadline (``sqlite3`` raises "interrupted"). ``None`` or 0:
    ``engine`` itself, unbounded. A stopped read raises ``QueryTimedOut``
    through ``translate_errors``.
    """
    if not seconds:
        return engine
    if is_sqlite(engine):
        _interrupt_slow_reads(engine, seconds)
        return engine
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, statement_timeout_ms=max(1, round(seconds * 1000)))


def _interrupt_slow_reads(engine: Engine, seconds: float) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(connection: Connection, *_args: Any) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is None:
            return
        if not connection.get_execution_options().get(READ):
            dbapi_connection.set_progress_handler(None, 0)
            return
        deadline = time.monotonic() + seconds
        # NOTE(dev): the handler stays set while the rows are fetched, which
        # steps the same statement; the next statement replaces it.
        dbapi_connection.set_progress_handler(
            lambda: time.monotonic() > deadline, _SQLITE_PROGRESS_STEPS
        )


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

    Unreachable or failing databases become ``DatabaseUnavailable``; values the
    database refuses (too long, bad bytes) become ``data_error``.
    """

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except sqlite3.OperationalError as ex:
                # NOTE(dev): raised bare by rows fetched from the DBAPI cursor itself.
                if str(ex) == _SQLITE_INTERRUPTED:
                    raise QueryTimedOut(f"the query ran out of time: {ex}") from ex
                raise DatabaseUnavailable(f"database unavailable: {ex}") from ex
            except exc.SQLAlchemyError as ex:
                if _timed_out(ex):
                    raise QueryTimedOut(f"the query ran out of time: {_reason(ex)}") from ex
                if _refused_values(ex):
                    raise data_error(f"the database refused the values: {_reason(ex)}") from ex
                raise DatabaseUnavailable(f"database unavailable: {_reason(ex)}") from ex

        return wrapper

    return decorate


def _timed_out(ex: exc.SQLAlchemyError) -> bool:
    """Tell whether a read was stopped by its time budget (``timed_reads``)."""
    orig = getattr(ex, "orig", None)
    if getattr(orig, "sqlstate", None) == _QUERY_CANCELED:
        return True
    return isinstance(ex, exc.OperationalError) and str(orig) == _SQLITE_INTERRUPTED


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


class PlannerStatistics:
    """Keeps the query planner's statistics in step with a growing dataset table.

    Without them SQLite believes every index is selective and, at 100,000
    datasets, sorts whole tables for one page; PostgreSQL's autovacuum
    catches up only a minute or so after a bulk load. So the writing process
    runs ``ANALYZE`` after its first thousand writes and each time it has
    written four times as many again. On SQLite the first ``ANALYZE``
    changes the schema, so every connection reloads at once; later ones
    reach other processes as their pooled connections are recycled. On
    SQLite ``ANALYZE`` samples ``SQLITE_ANALYSIS_LIMIT`` rows of each index
    of the tag and text tables instead of reading all of them, so a
    registrar's first one does not stall it on a large store.

    NOTE(dev): ``datasets`` is analysed whole (0.5 s at 100,000 datasets).
    Sampled, each of its indexes got its own estimate of the row count, and
    SQLite takes the table's from whichever index it loads last; it then
    listed ids by scanning the wide rows in id order instead of the narrow
    ``ix_datasets_id_filters`` (the ids of 100,000 datasets: 152 → 20 ms).
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
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:  # NOTE(dev): a pooled connection keeps the limit it was given last
                connection.exec_driver_sql("PRAGMA analysis_limit=0")
            connection.exec_driver_sql("ANALYZE datasets")
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
            connection.exec_driver_sql("ANALYZE dataset_tags")
            connection.exec_driver_sql("ANALYZE dataset_texts")
