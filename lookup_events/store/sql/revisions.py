"""Store revisions: what keeps every process's caches in step with every write.

Every write bumps its store's row in ``revisions`` inside the same
transaction. A reader serves counts, summaries, users and result pages from
an in-process ``RevisionCache`` keyed on that number, so a newer revision
makes the next read miss. In a ``revision_view`` (one per API request) the
revisions of a database are looked at once.

How a reader learns the current revisions:

- **SQLite, following** (the default for a database file): a process that
  committed a revising write then leaves a new token in a file beside the
  database (``signals.py``). The reader maps that file and reads the
  revisions again only when the token changed, this process committed a
  write, or ``FOLLOW_AT_MOST_S`` have passed; otherwise a look is a
  comparison in memory. A write is seen by every read that starts after it
  returned.
- **SQLite, not following** (``DTOOL_LOOKUP_CACHE_NOTIFY=false``, or no
  file to signal through): one primary-key read on a raw connection per
  look, a few microseconds and the file locks around it.
- **PostgreSQL, following** (the default): a write transaction also sends
  ``NOTIFY dtool_lookup_revisions``, delivered at commit to every listening
  connection. The reader's connection listens, and reads the revisions
  again only when a notification has arrived, this process committed a
  write, or ``FOLLOW_AT_MOST_S`` have passed; otherwise it answers without
  a round trip (a look is one non-blocking ``recv``). Another process's
  write is seen once its notification reaches this process, well under a
  millisecond after its commit on one host; this process's own writes are
  seen by its next read.
- **PostgreSQL, not following** (``DTOOL_LOOKUP_CACHE_NOTIFY=false``, for
  a pooler in transaction mode, where LISTEN does not hold): one prepared
  query per look, a round trip that costs more than the rest of a cached
  lookup on a busy machine, where the server process has to be woken for it
  (``docs/measurements.md``).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import select
import threading
import time
from collections.abc import Hashable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, event, update

from lookup_events.store.sql.kept import KeptConnections, check_result, run_prepared
from lookup_events.store.sql.schema import revisions
from lookup_events.store.sql.signals import CommitSignal, signal_for

CHANNEL = "dtool_lookup_revisions"
# A following reader asks the database again at least this often, whatever it heard.
FOLLOW_AT_MOST_S = 1.0
_READ_ALL = "SELECT name, value FROM revisions"
_PREPARED_NAME = b"dtool_lookup_read_revisions"
_REVISED = "lookup_revised"  # pool-record flag: this connection's transaction bumped a revision
_MAX_READS = 100  # socket reads per look, so a flood of notifications cannot hold a request
_COMMITS = itertools.count(1)
_last_commit = 0  # the number of this process's latest revising write, once committed


def bump_revision(connection: Connection, name: str) -> None:
    """Increment the store's revision inside the caller's write transaction."""
    connection.execute(
        update(revisions).where(revisions.c.name == name).values(value=revisions.c.value + 1)
    )
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"NOTIFY {CHANNEL}")  # sent at commit, once per transaction
    connection.info[_REVISED] = signal_for(connection.engine) or True
    view = _REVISION_VIEW.get()
    if view is not None:
        view.clear()  # later reads in this view must see this write


def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
    """Count a revising transaction of this process once it has ended (committed or not).

    On SQLite, tell the other processes' readers too (``signals.py``).
    """
    global _last_commit  # noqa: PLW0603 - one process-wide counter, read without a lock
    revised = record.info.pop(_REVISED, None) if record is not None else None
    if revised is None:
        return
    _last_commit = next(_COMMITS)
    if isinstance(revised, CommitSignal):
        revised.send()


# Revisions read so far in the current view, by (database, name); None outside one.
_REVISION_VIEW: ContextVar[dict[tuple[str, str], int] | None] = ContextVar(
    "lookup_revision_view", default=None
)


@contextlib.contextmanager
def revision_view() -> Iterator[None]:
    """Within the block, look at every revision of a database at most once.

    An API request whose admin and dataset stores share a database looks
    once for both. A write in the block forgets what was read.
    """
    token = open_revision_view()
    try:
        yield
    finally:
        close_revision_view(token)


ViewToken = Token[dict[tuple[str, str], int] | None]


def open_revision_view() -> ViewToken:
    """Open a view spanning two calls (a request's middleware); close it with the token."""
    return _REVISION_VIEW.set({})


def close_revision_view(token: ViewToken) -> None:
    """Close the view ``open_revision_view`` opened."""
    _REVISION_VIEW.reset(token)


@dataclass
class _Heard:
    """What one thread's kept connection last read of the revisions, and when."""

    revisions: dict[str, int] = field(default_factory=dict)
    read_at: float = -1.0
    commit_seen: int = -1
    token: bytes = b""  # the SQLite commit signal's, taken before the read


class RevisionReader:
    """Reads a database's revisions on a raw, autocommit connection per thread.

    This is the one query every cached read may make, so it bypasses the
    SQLAlchemy pool and transaction machinery. A kept connection that fails
    (the server restarted) is replaced at once, and a new one reads before
    it trusts anything; one made before a fork is never used by the child.
    """

    def __init__(self, engine: Engine, follow: bool = True) -> None:
        self._database = engine.url.render_as_string(hide_password=True)
        self._postgres = engine.dialect.name == "postgresql"
        self._signal = signal_for(engine) if follow else None
        self._follow = follow and (self._postgres or self._signal is not None)
        prepare = functools.partial(_prepare, listen=self._follow)
        self._connections = KeptConnections(engine, prepare)
        self._local = threading.local()
        if not event.contains(engine, "checkin", _on_checkin):
            event.listen(engine, "checkin", _on_checkin)

    def read(self, name: str) -> int:
        """Return the current revision of ``name`` (0 if it has none)."""
        view = _REVISION_VIEW.get()
        key = (self._database, name)
        if view is not None and key in view:
            return view[key]
        current = self._current()
        if view is not None:
            view.update(((self._database, n), value) for n, value in current.items())
        return current.get(name, 0)

    def _current(self) -> dict[str, int]:
        """Return every revision; a kept connection that fails is replaced, once."""
        return self._connections.run(self._look)

    def _look(self, connection: Any, fresh: bool) -> dict[str, int]:
        """Return the revisions as far as heard on ``connection``, reading them when needed."""
        heard = self._heard(fresh)
        if self._follow and self._unchanged(connection, heard):
            return heard.revisions
        # Both taken before the query: a commit after it changes them, and reads again.
        commit_seen, token = _last_commit, self._token()
        heard.revisions = {n: int(value) for n, value in self._rows(connection)}
        heard.read_at, heard.commit_seen, heard.token = time.monotonic(), commit_seen, token
        return heard.revisions

    def _unchanged(self, connection: Any, heard: _Heard) -> bool:
        """Tell whether the revisions ``heard`` holds are still the database's, as far as heard."""
        if self._signal is not None:
            signalled = self._signal.token() != heard.token
        else:
            signalled = _drain_notifications(connection.pgconn)
        return (
            not signalled
            and heard.commit_seen == _last_commit
            and time.monotonic() - heard.read_at < FOLLOW_AT_MOST_S
        )

    def _token(self) -> bytes:
        return self._signal.token() if self._signal is not None else b""

    def _heard(self, fresh: bool) -> _Heard:
        """Return what this thread has heard; nothing yet on a connection opened just now."""
        heard: _Heard | None = getattr(self._local, "heard", None)
        if heard is None or fresh:
            self._local.heard = heard = _Heard()
        return heard

    def _rows(self, connection: Any) -> list[Any]:
        if self._postgres:
            return _libpq_rows(connection.pgconn)
        cursor = connection.cursor()
        cursor.execute(_READ_ALL)
        rows = list(cursor.fetchall())
        cursor.close()
        return rows

    def close(self) -> None:
        """Close every connection this reader opened."""
        self._connections.close()
        self._local = threading.local()


def _prepare(pgconn: Any, listen: bool) -> None:
    """Prepare the revision query on a new PostgreSQL connection; LISTEN first if following.

    Listening starts before the first read, so no write can fall between them.
    """
    if listen:
        check_result(pgconn.exec_(f"LISTEN {CHANNEL}".encode()), pgconn)
    check_result(pgconn.prepare(_PREPARED_NAME, _READ_ALL.encode()), pgconn)


def _drain_notifications(pgconn: Any) -> bool:
    """Read what the server sent without waiting; tell whether a notification came.

    The socket is read until it has nothing more: a server that ended the
    connection sends an error message, then closes it, and only reading the
    close tells that the connection is gone.

    Raises:
        psycopg.OperationalError: the connection is broken.
    """
    for _ in range(_MAX_READS):
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
        if not readable:
            break
        pgconn.consume_input()
    notified = False
    while pgconn.notifies() is not None:
        notified = True
    return notified


def _libpq_rows(pgconn: Any) -> list[tuple[str, ...]]:
    """Run the prepared revision query; return its rows as text.

    Behind a pooler in transaction mode the next query may reach a server
    connection the statement was never prepared on: it is then sent whole.
    """
    result = run_prepared(pgconn, _PREPARED_NAME, _READ_ALL, [])
    check_result(result, pgconn)
    columns = range(result.nfields)
    return [
        tuple(result.get_value(row, column).decode() for column in columns)
        for row in range(result.ntuples)
    ]


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
