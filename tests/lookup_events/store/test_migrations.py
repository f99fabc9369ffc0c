"""Migrations: idempotent, concurrent-safe, and in step with the models."""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from lookup_events.model import record_from_info
from lookup_events.store import MIGRATIONS, open_stores, upgrade_database
from lookup_events.store.protocols import PageRequest, SearchQuery
from lookup_events.store.sql.engine import make_engine
from lookup_events.store.sql.schema import Base, include_object
from tests.conftest import settings_for
from tests.data import MR_MEN, load_anchor_data, make_info


def current_revision(url: str) -> str | None:
    """Return the Alembic revision the database is at."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """Return the newest revision shipped in the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return ScriptDirectory.from_config(config).get_current_head()


def test_upgrade_twice_is_a_no_op(database_url: str, tmp_path: Path) -> None:
    stores = open_stores(settings_for(database_url, tmp_path))
    load_anchor_data(stores)
    upgrade_database(database_url)
    upgrade_database(database_url)
    assert current_revision(database_url) == head_revision()
    assert stores.datasets.summary(["s3://snow-white"]).number_of_datasets == 2
    stores.close()


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": include_object, "compare_type": True}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_creates_the_sqlite_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'lookup.db'}"
    upgrade_database(url)
    assert current_revision(url) == head_revision()
    tables = inspect(create_engine(url)).get_table_names()
    assert {"datasets", "users", "dataset_fts"} <= set(tables)


def concurrently(url: str, workers: int = 3) -> list[str]:
    """Run ``upgrade_database`` in several processes at once; return their errors."""
    script = "import sys, lookup_events.store as s; s.upgrade_database(sys.argv[1])"
    processes = [
        subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE, text=True)
        for _ in range(workers)
    ]
    return [process.communicate()[1] for process in processes if process.wait() != 0]


def test_upgrade_in_threads_of_one_process(sqlite_url: str) -> None:
    threads = [threading.Thread(target=upgrade_database, args=(sqlite_url,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert current_revision(sqlite_url) == head_revision()


def test_concurrent_upgrades_of_a_new_sqlite_file(sqlite_url: str) -> None:
    assert concurrently(sqlite_url) == []
    assert current_revision(sqlite_url) == head_revision()


@pytest.fixture
def new_postgres_database(postgres_url: str) -> Iterator[str]:
    """Create an empty PostgreSQL database for one test."""
    server = make_url(postgres_url)
    name = f"dtool_lookup_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_concurrent_upgrades_of_a_new_postgres_database(new_postgres_database: str) -> None:
    assert concurrently(new_postgres_database) == []
    assert current_revision(new_postgres_database) == head_revision()


@pytest.mark.postgres
def test_upgrading_postgres_moves_stored_texts_out_of_the_heap(
    new_postgres_database: str, tmp_path: Path
) -> None:
    url = new_postgres_database
    upgrade_database(url, "0001")
    stores = open_stores(settings_for(url, tmp_path))
    try:
        stores.admin.add_base_uri(MR_MEN)
        stores.datasets.upsert_many([record_from_info(make_info(i, MR_MEN)) for i in range(500)])
        wide = heap_pages(url, "dataset_texts")

        upgrade_database(url)

        assert current_revision(url) == head_revision()
        assert heap_pages(url, "dataset_texts") * 3 < wide
        found = stores.datasets.search(SearchQuery((MR_MEN,), "synthetic"), PageRequest(1, 10))
        assert found.total == 500
        phrase = stores.datasets.search(
            SearchQuery((MR_MEN,), '"synthetic dataset 7"'), PageRequest()
        )
        assert [entry.name for entry in phrase.items] == ["dataset-000007"]
    finally:
        stores.close()


def heap_pages(url: str, table: str) -> int:
    """Return the number of 8 kB pages in ``table``'s heap (its TOAST and indexes apart)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_relation_size(:t)"), {"t": table}).scalar_one()
            return int(size) // 8192
    finally:
        engine.dispose()
