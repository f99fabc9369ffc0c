"""Commit signals beside SQLite databases: how readers follow other processes' writes.

PostgreSQL tells listening connections of a write (``NOTIFY``). SQLite has no
such channel, so a reader used to ask the database for its revisions on
every request: a query, and the file locks around it. Instead, a process
that has committed a revising write then writes a new random token into a
small file beside the database (``<database>-revisions``), and readers map
that file and compare its token with the one they saw when they last read
the revisions: a look is eight bytes compared in memory, no system call.

The token is written after the commit and before the writer's call returns,
so a read that starts after a write returned sees it. A writer that dies
between its commit and its token is caught by the readers' periodic read
(``revisions.FOLLOW_AT_MOST_S``), as a lost notification is on PostgreSQL.
Where the file cannot be opened for writing (an in-memory database, a
folder this process may not write), there is no signal and readers ask
every time, as before.
"""

from __future__ import annotations

import logging
import mmap
import os
import secrets
import threading
import weakref

from sqlalchemy import Engine
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

SUFFIX = "-revisions"
TOKEN_BYTES = 8
_IN_MEMORY = ("", ":memory:")


class CommitSignal:
    """The token file of one SQLite database, mapped for reading, open for writing."""

    def __init__(self, path: str, mode: int = 0o644) -> None:
        """Open (creating, with ``mode``) the token file at ``path``.

        Raises:
            OSError: the file cannot be opened for writing or mapped.
        """
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
        try:
            if os.fstat(descriptor).st_size < TOKEN_BYTES:
                os.ftruncate(descriptor, TOKEN_BYTES)
            self._map = mmap.mmap(descriptor, TOKEN_BYTES, access=mmap.ACCESS_READ)
        except OSError:
            os.close(descriptor)
            raise
        self._descriptor = descriptor
        weakref.finalize(self, os.close, descriptor)  # the map closes itself

    def token(self) -> bytes:
        """Return the token the last revising commit left."""
        return self._map[:TOKEN_BYTES]

    def send(self) -> None:
        """Leave a new token: tell every reader that something was committed."""
        os.pwrite(self._descriptor, secrets.token_bytes(TOKEN_BYTES), 0)


# By engine, so a write (which asks each time) resolves no path; by file beneath.
# A signal lives as long as an engine of its database (or a reader) holds it.
_by_engine: weakref.WeakKeyDictionary[Engine, CommitSignal | None] = weakref.WeakKeyDictionary()
_by_file: weakref.WeakValueDictionary[str, CommitSignal] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def signal_for(engine: Engine) -> CommitSignal | None:
    """Return this process's signal for the SQLite database of ``engine``; None if it has none."""
    if engine in _by_engine:
        return _by_engine[engine]
    with _lock:
        path = database_file(engine.url)
        signal = None if path is None else _by_file.get(path) or _open(path)
        if path is not None and signal is not None:
            _by_file[path] = signal
        _by_engine[engine] = signal
        return signal


def database_file(url: URL) -> str | None:
    """Return the real path of the file a SQLite ``url`` names; None for any other database."""
    if url.get_backend_name() != "sqlite" or url.query.get("uri") or url.query.get("mode"):
        return None
    database = url.database or ""
    if database in _IN_MEMORY or database.startswith("file:"):
        return None
    return os.path.realpath(database)


def _open(database: str) -> CommitSignal | None:
    """Open the signal beside ``database``, as writable as the database itself is."""
    try:
        mode = os.stat(database).st_mode & 0o666
    except OSError:
        mode = 0o644
    try:
        return CommitSignal(database + SUFFIX, mode)
    except OSError as ex:
        log.info("no commit signal for %s (%s): readers ask for every revision", database, ex)
        return None
