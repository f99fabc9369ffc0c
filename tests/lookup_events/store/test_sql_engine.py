"""Connection handling of the SQL stores: revision views, libpq revision reads, pings."""

from __future__ import annotations

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
from lookup_events.store.sql.engine import make_engine
from tests.support.data import MR_MEN, SNOW_WHITE, make_info
from tests.support.postgres import libpq_dsn, terminate_other_backends
from tests.support.stores import settings_for

BOTH = (SNOW_WHITE, MR_MEN)


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


def total(stores: Stores) -> int:
    return stores.datasets.search(SearchQuery(BOTH), PageRequest(1, 10)).total


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
        assert total(api) == 0
        elsewhere(lambda: registrar.datasets.upsert(record_from_info(make_info(1, MR_MEN))))
        assert total(api) == 0  # one request answers from one view of the revisions
        api.datasets.upsert(record_from_info(make_info(2, MR_MEN)))
        assert total(api) == 2  # ... but never hides its own writes
    assert total(api) == 2
    registrar.datasets.upsert(record_from_info(make_info(3, MR_MEN)))
    assert total(api) == 3  # outside a view every read checks the revision


def test_a_view_reads_admin_and_dataset_revisions_together(
    two_processes: tuple[Stores, Stores],
) -> None:
    api, other = two_processes
    with revision_view():
        assert api.admin.get_user("alice") is None
        elsewhere(lambda: other.admin.add_user("alice"))
        assert total(api) == 0
        assert api.admin.get_user("alice") is None
    assert api.admin.get_user("alice") is not None


@pytest.mark.postgres
def test_a_rested_connection_killed_by_the_server_is_replaced(
    postgres_url_migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores = open_stores(settings_for(postgres_url_migrated, tmp_path))
    try:
        stores.admin.add_base_uri(MR_MEN)
        stores.datasets.upsert(record_from_info(make_info(1, MR_MEN)))
        assert stores.datasets.get(make_info(1, MR_MEN)["uri"]) is not None
        assert total(stores) == 1
        terminate_other_backends(postgres_url_migrated)
        monkeypatch.setattr(sql_engine, "PING_AFTER_IDLE_SECONDS", 0.0)

        assert stores.datasets.get(make_info(1, MR_MEN)["uri"]) is not None
        assert stores.admin.list_base_uris(PageRequest(1, 10)).total == 1
        assert total(stores) == 1  # the revision reader's own connection is replaced too
    finally:
        stores.close()


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
