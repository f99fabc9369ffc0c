"""The embedded event queue: a kombu virtual transport of ours over one SQLite file.

URL: ``sqlite:///<path>`` (``sqlite:////abs/path``, as SQLAlchemy spells
them); ``?lease=<seconds>`` sets the lease (default 3600). Hand the class to
kombu: ``kombu.Connection(url, transport=embedded.Transport)``.

Messages are rows of one table, ``messages``. A get *leases* the oldest
visible row of a queue: the row stays, hidden from every other consumer
until the lease ends. Then:

- an ack deletes the row, and so does a reject without requeue;
- a reject with requeue, or a consumer closing with messages unacked,
  clears the lease: the row is visible again at once, at the queue's head;
- a consumer that dies (SIGKILL, a crash) gives nothing back: its leases run
  out and the rows come back, flagged ``redelivered``.

So the table holds only what waits or is in flight, and no process takes
anything with it when it dies. The lease must outlast the longest a consumer
holds a message (a batch's work); the default hour is generous. A message
published with a ``delay_seconds`` property stays hidden that long: retries
wait out their backoff that way (``delays.BrokerDelay``), and survive any
consumer.

Several processes publish and consume at once: WAL journal, a busy timeout,
and every write in a ``BEGIN IMMEDIATE`` transaction, which takes the write
lock (waiting for it) before reading anything: a get reads the oldest
visible row and leases it, and under WAL a read that has to become a write
can fail instead of waiting. Idle consumers only read. Processes creating
the file at once wait for each other the same way.

This replaces kombu's ``sqla+sqlite`` transport, which kept unacked messages
in the consumer's memory only (a killed consumer lost them) and never
deleted consumed rows. A ``queue.db`` it wrote keeps its ``kombu_message``
and ``kombu_queue`` tables, untouched and never read: no migration, since
the registrar's rescan at start publishes every dataset the store lacks.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from kombu.transport import virtual

# NOTE(dev): kombu ships py.typed but almost no annotations; its classes are Any here.
VirtualQoS: Any = virtual.QoS
VirtualChannel: Any = virtual.Channel
VirtualTransport: Any = virtual.Transport

SCHEME = "sqlite"
DEFAULT_LEASE = 3600.0
BUSY_TIMEOUT = 30.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS messages ("
    " id INTEGER PRIMARY KEY,"
    " queue TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " visible_at REAL NOT NULL DEFAULT 0,"
    " lease TEXT,"
    " deliveries INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at, id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS messages_lease ON messages (lease) WHERE lease IS NOT NULL",
)
_READY = "SELECT 1 FROM messages WHERE queue = ? AND visible_at <= ? LIMIT 1"
_LEASE = (
    "UPDATE messages SET visible_at = ?, lease = ?, deliveries = deliveries + 1"
    " WHERE id = (SELECT id FROM messages WHERE queue = ? AND visible_at <= ?"
    " ORDER BY visible_at, id LIMIT 1)"
    " RETURNING payload, deliveries"
)


@dataclass(frozen=True, slots=True)
class QueueFile:
    """Where an embedded queue lives, and how long its leases last."""

    path: Path
    lease: float = DEFAULT_LEASE

    @classmethod
    def from_url(cls, url: str) -> QueueFile:
        """Read ``sqlite:///<path>[?lease=<seconds>]``.

        Raises:
            ValueError: not such a URL, no file (``:memory:``), or an unknown
                or invalid parameter.
        """
        parts = urlsplit(url)
        database = unquote(parts.path[1:])
        if parts.scheme != SCHEME or parts.netloc or database in {"", ":memory:"}:
            raise ValueError(f"the embedded queue needs a file: sqlite:///<path>, not {url}")
        params = parse_qs(parts.query, keep_blank_values=True)
        unknown = set(params) - {"lease"}
        if unknown:
            raise ValueError(f"unknown parameter of the embedded queue: {sorted(unknown)}")
        lease = float(params.get("lease", [DEFAULT_LEASE])[-1])
        if lease <= 0:
            raise ValueError(f"the lease of the embedded queue must be positive, not {lease}")
        return cls(Path(database), lease)


@dataclass(frozen=True, slots=True)
class Leased:
    """A row leased by a get: its payload, lease token and delivery count."""

    payload: str
    token: str
    deliveries: int


class MessageTable:
    """The ``messages`` table of one queue file, through one SQLite connection."""

    def __init__(self, file: QueueFile, clock: Callable[[], float] = time.time) -> None:
        self.file = file
        self._clock = clock
        # NOTE(dev): autocommit (isolation_level=None): every write opens its
        # own BEGIN IMMEDIATE. Not thread-bound: kombu may restore unacked
        # messages from a finalizer on another thread.
        self._db = sqlite3.connect(
            file.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        try:
            self._set_up()
        except sqlite3.Error:
            self._db.close()
            raise

    def _set_up(self) -> None:
        # NOTE(dev): processes creating the file at once wait for each other
        # in the busy timeout, the switch to WAL included.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: a process crash loses nothing
        with self._writing():
            for statement in _SCHEMA:
                self._db.execute(statement)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def put(self, queue: str, payload: str, delay: float = 0.0) -> None:
        """Add a message, hidden for ``delay`` seconds."""
        visible_at = self._clock() + delay if delay > 0 else 0.0
        with self._writing() as db:
            db.execute(
                "INSERT INTO messages (queue, payload, visible_at) VALUES (?, ?, ?)",
                (queue, payload, visible_at),
            )

    def lease(self, queue: str) -> Leased | None:
        """Lease the oldest visible message of ``queue``; None if there is none."""
        now = self._clock()
        with self._lock:
            if self._db.execute(_READY, (queue, now)).fetchone() is None:
                return None  # NOTE(dev): without a write lock, idle consumers never wait
        token = uuid.uuid4().hex
        with self._writing() as db:
            row = db.execute(_LEASE, (now + self.file.lease, token, queue, now)).fetchone()
        return None if row is None else Leased(row[0], token, int(row[1]))

    def remove(self, token: str) -> None:
        """Delete the message leased with ``token`` (acked, or rejected for good)."""
        with self._writing() as db:
            db.execute("DELETE FROM messages WHERE lease = ?", (token,))

    def release(self, token: str) -> None:
        """End the lease ``token``: the message is visible again, first in its queue."""
        with self._writing() as db:
            db.execute(
                "UPDATE messages SET lease = NULL, visible_at = 0 WHERE lease = ?", (token,)
            )

    def size(self, queue: str) -> int:
        """Return how many messages of ``queue`` are visible."""
        return self._count(
            "SELECT count(*) FROM messages WHERE queue = ? AND visible_at <= ?", queue
        )

    def delayed(self, queue: str) -> int:
        """Return how many messages of ``queue`` are hidden until a delay passes."""
        return self._count(
            "SELECT count(*) FROM messages WHERE queue = ? AND lease IS NULL AND visible_at > ?",
            queue,
        )

    def _count(self, sql: str, queue: str) -> int:
        with self._lock:
            (count,) = self._db.execute(sql, (queue, self._clock())).fetchone()
        return int(count)

    def purge(self, queue: str) -> int:
        """Delete the messages of ``queue`` that nobody holds; return how many."""
        with self._writing() as db:
            deleted = db.execute(
                "DELETE FROM messages WHERE queue = ? AND (lease IS NULL OR visible_at <= ?)",
                (queue, self._clock()),
            )
        return deleted.rowcount

    def drop(self, queue: str) -> None:
        """Delete every message of ``queue``, held ones too."""
        with self._writing() as db:
            db.execute("DELETE FROM messages WHERE queue = ?", (queue,))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


class QoS(VirtualQoS):  # type: ignore[misc]  # an Any base: see the NOTE above
    """Acks and rejects that delete or release leased rows."""

    def ack(self, delivery_tag: str) -> None:
        """Delete the acked message's row."""
        self.channel.table.remove(delivery_tag)
        super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        """Release the row (requeue) or delete it."""
        if not requeue:
            self.channel.table.remove(delivery_tag)
        super().reject(delivery_tag, requeue)


class Channel(VirtualChannel):  # type: ignore[misc]  # an Any base: see the NOTE above
    """A channel on the queue file, with a SQLite connection of its own."""

    QoS = QoS

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self.table = MessageTable(QueueFile.from_url(connection.client.hostname))

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        leased = self.table.lease(queue)
        if leased is None:
            raise Empty()
        payload: dict[str, Any] = json.loads(leased.payload)
        properties = payload["properties"]
        properties["delivery_tag"] = leased.token
        properties["delivery_info"]["redelivered"] = leased.deliveries > 1
        return payload

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        delay = float(message["properties"].get("delay_seconds") or 0)
        self.table.put(queue, json.dumps(message), delay)

    def _size(self, queue: str) -> int:
        return self.table.size(queue)

    def delayed_size(self, queue: str) -> int:
        """Return how many messages of ``queue`` wait for their delay to pass."""
        return self.table.delayed(queue)

    def _purge(self, queue: str) -> int:
        return self.table.purge(queue)

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self.table.drop(queue)

    def _restore(self, message: Any) -> None:
        self.table.release(message.delivery_tag)

    def _restore_at_beginning(self, message: Any) -> None:
        self.table.release(message.delivery_tag)

    def close(self) -> None:
        """Close the channel, giving back what it holds, then its connection."""
        try:
            super().close()
        finally:
            self.table.close()


class Transport(VirtualTransport):  # type: ignore[misc]  # an Any base: see the NOTE above
    """The kombu transport of the embedded queue."""

    Channel = Channel
    can_parse_url = True
    default_port = 0
    polling_interval = 0.2
    driver_type = "sqlite"
    driver_name = "sqlite3"
    connection_errors = (sqlite3.OperationalError,)

    def driver_version(self) -> str:
        """Return the version of the SQLite library."""
        return sqlite3.sqlite_version

    def as_uri(self, uri: str, include_password: bool = False, mask: str = "**") -> str:
        """Return the URL as given: a file path holds no password."""
        return uri
