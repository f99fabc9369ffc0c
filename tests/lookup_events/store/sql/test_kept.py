"""Raw connections kept per thread (``store/sql/kept.py``), on SQLite and PostgreSQL.

Each thread has its own connection; one that failed is replaced; ``close``
closes every one opened; a forked child opens its own and leaves the
parent's working.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from lookup_events.errors import DatabaseUnavailable
from lookup_events.store.sql.engine import make_engine
from lookup_events.store.sql.kept import KeptConnections


class Prepared:
    """A ``prepare`` callback that prepares one statement and counts its calls."""

    def __init__(self, fails: bool = False) -> None:
        self.calls = 0
        self.fails = fails

    def __call__(self, pgconn: Any) -> None:
        self.calls += 1
        if self.fails:
            raise ConnectionError("cannot prepare")
        pgconn.prepare(b"kept_test", b"SELECT 1")


@pytest.fixture
def prepared() -> Prepared:
    return Prepared()


@pytest.fixture
def kept(database_url: str, prepared: Prepared) -> Iterator[KeptConnections]:
    engine = make_engine(database_url)
    connections = KeptConnections(engine, prepared)
    yield connections
    connections.close()
    engine.dispose()


def works(connection: Any) -> bool:
    """Tell whether ``connection`` still answers a query."""
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        return list(cursor.fetchall()) == [(1,)]
    except Exception:
        return False


def opens_another(kept: KeptConnections, old: Any) -> bool:
    """Tell whether ``get`` now opens a working connection other than ``old``."""
    connection, fresh = kept.get()
    return fresh and connection is not old and works(connection)


def in_a_thread(kept: KeptConnections) -> tuple[Any, bool]:
    """Return what ``get`` returns in a new thread."""
    got: list[tuple[Any, bool]] = []
    thread = threading.Thread(target=lambda: got.append(kept.get()))
    thread.start()
    thread.join()
    return got[0]


def test_a_thread_keeps_its_connection(
    kept: KeptConnections, database_url: str, prepared: Prepared
) -> None:
    first, fresh = kept.get()
    assert fresh and works(first)
    assert kept.get() == (first, False)
    assert prepared.calls == (1 if database_url.startswith("postgresql") else 0)


def test_each_thread_has_its_own_connection(kept: KeptConnections) -> None:
    mine, _ = kept.get()
    theirs, fresh = in_a_thread(kept)
    assert fresh and theirs is not mine
    assert works(theirs) and works(mine)


def test_close_closes_every_connection_opened(kept: KeptConnections) -> None:
    mine, _ = kept.get()
    theirs, _ = in_a_thread(kept)

    kept.close()

    assert not works(mine) and not works(theirs)
    assert opens_another(kept, mine)


def test_discard_closes_this_threads_connection_and_the_next_is_new(
    kept: KeptConnections,
) -> None:
    broken, _ = kept.get()
    theirs, _ = in_a_thread(kept)

    kept.discard()

    assert not works(broken) and works(theirs)
    assert opens_another(kept, broken)


def test_a_forked_child_opens_its_own_and_leaves_the_parents_alone(
    kept: KeptConnections,
) -> None:
    parents, _ = kept.get()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            kept.discard()  # an inherited connection is dropped, never closed
            answer = opens_another(kept, parents)
            kept.discard()  # the child's own is closed
            os.write(writing, b"yes" if answer else b"no")
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    answer = os.read(reading, 8)
    os.close(reading)
    os.close(writing)

    assert answer == b"yes"
    assert kept.get() == (parents, False)
    assert works(parents)


def test_close_in_a_forked_child_leaves_the_parents_connection_working(
    kept: KeptConnections,
) -> None:
    parents, _ = kept.get()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            kept.close()
        finally:
            os._exit(0)
    os.waitpid(child, 0)

    assert works(parents)
    assert kept.get() == (parents, False)


def test_an_unreachable_database_is_unavailable(tmp_path: Path) -> None:
    kept = KeptConnections(make_engine(f"sqlite:///{tmp_path}/missing/lookup.db"), Prepared())
    with pytest.raises(DatabaseUnavailable):
        kept.get()


@pytest.mark.postgres
def test_a_connection_that_cannot_be_prepared_is_closed_and_unavailable(
    postgres_url_migrated: str,
) -> None:
    engine = make_engine(postgres_url_migrated)
    kept = KeptConnections(engine, Prepared(fails=True))
    opened: list[Any] = []
    event.listen(engine, "connect", lambda connection, _record: opened.append(connection))
    with pytest.raises(DatabaseUnavailable, match="cannot prepare"):
        kept.get()
    assert len(opened) == 1 and opened[0].closed
    engine.dispose()
