"""Store revisions: one view per request, and how readers learn of other processes' writes.

Within a ``revision_view`` the revisions are read once; a view sees its own
writes. On PostgreSQL readers follow other processes' writes by
LISTEN/NOTIFY, not a query per request, and read the revisions through libpq.

On SQLite they follow a token that every revising commit leaves in a file beside
the database.

The "other process" here is either a real Python process writing through its
own stores, or a raw connection changing the revisions table directly, which
is how a write whose notification or token was lost (or never sent) looks to a
reader.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from lookup_events.errors import DatabaseUnavailable
from lookup_events.model import record_from_info
from lookup_events.store import Stores, open_stores, revision_view
from lookup_events.store.protocols import PageRequest, SearchQuery
from lookup_events.store.sql import engine as sql_engine
from lookup_events.store.sql import revisions as sql_revisions
from lookup_events.store.sql import signals
from lookup_events.store.sql.engine import make_engine
from tests.support.data import MR_MEN, SNOW_WHITE, make_info
from tests.support.postgres import libpq_dsn, terminate_other_backends
from tests.support.processes import REPO, wait_until
from tests.support.stores import settings_for

WRITE_ELSEWHERE = """
import sys
from pathlib import Path
from lookup_events.config import Settings
from lookup_events.model import record_from_info
from lookup_events.store import open_stores
from tests.support.data import MR_MEN, make_info
from tests.support.processes import REPO, wait_until

stores = open_stores(Settings(data_dir=Path(sys.argv[2]), database_url=sys.argv[1]).completed())
stores.datasets.upsert(record_from_info(make_info(int(sys.argv[3]), MR_MEN)))
stores.close()
"""


def open_reader(url: str, data_dir: Path) -> Iterator[Stores]:
    stores = open_stores(settings_for(url, data_dir))
    stores.admin.add_base_uri(MR_MEN)
    yield stores
    stores.close()


@pytest.fixture
def reader_stores(postgres_url_migrated: str, tmp_path: Path) -> Iterator[Stores]:
    yield from open_reader(postgres_url_migrated, tmp_path)


@pytest.fixture
def sqlite_reader(sqlite_url_migrated: str, tmp_path: Path) -> Iterator[Stores]:
    yield from open_reader(sqlite_url_migrated, tmp_path)


@pytest.fixture
def following_reader(database_url: str, tmp_path: Path) -> Iterator[Stores]:
    """A reader following writes on each SQL backend: NOTIFY, or SQLite's token file."""
    yield from open_reader(database_url, tmp_path)


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the revision queries sent to the database."""
    sent: list[int] = []
    real = sql_revisions.RevisionReader._rows

    def counting(reader: sql_revisions.RevisionReader, connection: object) -> list[object]:
        sent.append(1)
        return real(reader, connection)

    monkeypatch.setattr(sql_revisions.RevisionReader, "_rows", counting)
    return sent


def total(stores: Stores) -> int:
    with revision_view():  # as one API request
        return stores.datasets.search(SearchQuery((MR_MEN,)), PageRequest(1, 10)).total


def write_in_another_process(url: str, data_dir: Path, number: int) -> None:
    subprocess.run(
        [sys.executable, "-c", WRITE_ELSEWHERE, url, str(data_dir), str(number)],
        cwd=REPO,
        check=True,
        timeout=60,
    )


def bump_behind_the_stores(url: str) -> None:
    """Change the datasets revision the way no store would: no NOTIFY, no SQLite token."""
    bump = "UPDATE revisions SET value = value + 1 WHERE name = 'datasets'"
    if make_url(url).get_backend_name() == "sqlite":
        with sqlite3.connect(make_url(url).database or "") as connection:
            connection.execute(bump)
        return
    with psycopg.connect(libpq_dsn(url), autocommit=True) as connection:
        connection.execute(bump)


def test_requests_with_nothing_written_make_no_query(
    following_reader: Stores, queries: list[int]
) -> None:
    assert total(following_reader) == 0
    first = len(queries)
    for _ in range(100):
        assert total(following_reader) == 0
    assert first == 1
    assert len(queries) == first  # a hundred requests answered from what was heard


@pytest.mark.postgres
def test_another_process_write_is_seen_through_its_notification(
    reader_stores: Stores,
    postgres_url_migrated: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sql_revisions, "FOLLOW_AT_MOST_S", 3600.0)  # only a notification helps
    assert total(reader_stores) == 0

    write_in_another_process(postgres_url_migrated, tmp_path, 1)

    assert wait_until(lambda: total(reader_stores) == 1, timeout=10.0, interval=0.005)


@pytest.mark.postgres
def test_this_process_sees_its_own_writes_at_once(
    reader_stores: Stores, postgres_url_migrated: str, tmp_path: Path
) -> None:
    writer = open_stores(settings_for(postgres_url_migrated, tmp_path))
    try:
        for number in range(1, 51):  # no waiting: never a notification's delay
            writer.datasets.upsert(record_from_info(make_info(number, MR_MEN)))
            assert total(reader_stores) == number
    finally:
        writer.close()


def test_a_write_never_signalled_is_seen_within_the_follow_bound(
    following_reader: Stores, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_revisions, "FOLLOW_AT_MOST_S", 0.2)
    reader = following_reader.datasets._revisions  # type: ignore[attr-defined]
    seen = reader.read("datasets")

    bump_behind_the_stores(database_url)

    assert reader.read("datasets") == seen  # nothing heard yet: the reader trusts memory
    assert wait_until(lambda: reader.read("datasets") == seen + 1, timeout=2.0, interval=0.005)


@pytest.mark.postgres
def test_a_reader_not_following_asks_every_time(
    postgres_url_migrated: str, tmp_path: Path
) -> None:
    settings = dataclasses.replace(
        settings_for(postgres_url_migrated, tmp_path), cache_notify=False
    )
    stores = open_stores(settings)
    try:
        reader = stores.datasets._revisions  # type: ignore[attr-defined]
        seen = reader.read("datasets")
        bump_behind_the_stores(postgres_url_migrated)
        assert reader.read("datasets") == seen + 1
    finally:
        stores.close()


@pytest.mark.postgres
def test_a_listener_cut_off_reads_again_on_its_new_connection(
    reader_stores: Stores,
    postgres_url_migrated: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sql_revisions, "FOLLOW_AT_MOST_S", 3600.0)
    monkeypatch.setattr(sql_engine, "PING_AFTER_IDLE_SECONDS", 0.0)  # pooled ones are checked
    assert total(reader_stores) == 0
    terminate_other_backends(postgres_url_migrated)  # every listener dropped
    write_in_another_process(postgres_url_migrated, tmp_path, 1)  # its NOTIFY reaches no one

    assert total(reader_stores) == 1


BOTH = (SNOW_WHITE, MR_MEN)


def total_of_both(stores: Stores) -> int:
    """Return how many datasets both base URIs hold (no revision view of its own)."""
    return stores.datasets.search(SearchQuery(BOTH), PageRequest(1, 10)).total


@pytest.fixture
def two_processes(database_url: str, tmp_path: Path) -> Iterator[tuple[Stores, Stores]]:
    """Two independent sets of stores on one database, as two processes would hold."""
    first = open_stores(settings_for(database_url, tmp_path))
    second = open_stores(settings_for(database_url, tmp_path))
    for base_uri in BOTH:
        first.admin.add_base_uri(base_uri)
    yield first, second
    first.close()
    second.close()


def elsewhere(action: Callable[[], object]) -> None:
    """Run ``action`` in a thread of its own: outside this thread's revision view."""
    thread = threading.Thread(target=action)
    thread.start()
    thread.join()


def test_a_view_reads_revisions_once_and_sees_its_own_writes(
    two_processes: tuple[Stores, Stores],
) -> None:
    api, registrar = two_processes
    with revision_view():
        assert total_of_both(api) == 0
        elsewhere(lambda: registrar.datasets.upsert(record_from_info(make_info(1, MR_MEN))))
        assert total_of_both(api) == 0  # one request answers from one view of the revisions
        api.datasets.upsert(record_from_info(make_info(2, MR_MEN)))
        assert total_of_both(api) == 2  # ... but never hides its own writes
    assert total_of_both(api) == 2
    registrar.datasets.upsert(record_from_info(make_info(3, MR_MEN)))
    assert total_of_both(api) == 3  # outside a view every read checks the revision


def test_a_view_reads_admin_and_dataset_revisions_together(
    two_processes: tuple[Stores, Stores],
) -> None:
    api, other = two_processes
    with revision_view():
        assert api.admin.get_user("alice") is None
        elsewhere(lambda: other.admin.add_user("alice"))
        assert total_of_both(api) == 0
        assert api.admin.get_user("alice") is None
    assert api.admin.get_user("alice") is not None


@pytest.mark.postgres
def test_revisions_are_read_where_the_statements_were_never_prepared(
    postgres_url_migrated: str, tmp_path: Path
) -> None:
    # Behind a pooler in transaction mode the revision query can reach a server
    # connection that never saw its PREPARE; the reader then sends it whole.
    stores = open_stores(settings_for(postgres_url_migrated, tmp_path))
    try:
        stores.admin.add_base_uri(MR_MEN)
        stores.datasets.upsert(record_from_info(make_info(1, MR_MEN)))
        with psycopg.connect(libpq_dsn(postgres_url_migrated), autocommit=True) as connection:
            everything = dict(sql_revisions._libpq_rows(connection.pgconn))
        assert int(everything["datasets"]) > 0
        assert "admin" in everything
    finally:
        stores.close()


@pytest.mark.postgres
def test_an_unmigrated_postgres_database_is_unavailable_not_a_crash(
    postgres_url: str, tmp_path: Path
) -> None:
    name = f"unmigrated_{tmp_path.name[-8:].lower()}"
    server = libpq_dsn(postgres_url)
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        reader = sql_revisions.RevisionReader(make_engine(url))
        with pytest.raises(DatabaseUnavailable, match="revisions"):
            reader.read("datasets")
        reader.close()
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_sqlite_another_process_write_is_seen_by_the_next_read(
    sqlite_reader: Stores,
    sqlite_url_migrated: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sql_revisions, "FOLLOW_AT_MOST_S", 3600.0)  # only the token helps
    assert total(sqlite_reader) == 0

    for number in (1, 2):  # no waiting: the token is left before the writer returns
        write_in_another_process(sqlite_url_migrated, tmp_path, number)
        assert total(sqlite_reader) == number


def test_sqlite_without_a_token_file_reads_every_time(
    sqlite_url_migrated: str, tmp_path: Path, queries: list[int]
) -> None:
    database = make_url(sqlite_url_migrated).database or ""
    (Path(database).parent / (Path(database).name + signals.SUFFIX)).mkdir()  # cannot be opened
    stores = open_stores(settings_for(sqlite_url_migrated, tmp_path))
    try:
        reader = stores.datasets._revisions  # type: ignore[attr-defined]
        seen = reader.read("datasets")
        bump_behind_the_stores(sqlite_url_migrated)
        assert reader.read("datasets") == seen + 1
        assert len(queries) == 2
    finally:
        stores.close()
