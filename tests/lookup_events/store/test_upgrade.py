"""upgrade_database: idempotent, concurrent-safe, from nothing to the newest revision."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from lookup_events.store import open_stores, upgrade_database
from tests.support.data import load_anchor_data
from tests.support.schema import current_revision, head_revision
from tests.support.stores import settings_for


def test_upgrade_twice_is_a_no_op(database_url: str, tmp_path: Path) -> None:
    stores = open_stores(settings_for(database_url, tmp_path))
    load_anchor_data(stores)
    upgrade_database(database_url)
    upgrade_database(database_url)
    assert current_revision(database_url) == head_revision()
    assert stores.datasets.summary(["s3://snow-white"]).number_of_datasets == 2
    stores.close()


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


@pytest.mark.slow
def test_concurrent_upgrades_of_a_new_sqlite_file(sqlite_url: str) -> None:
    assert concurrently(sqlite_url) == []
    assert current_revision(sqlite_url) == head_revision()


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_upgrades_of_a_new_postgres_database(new_postgres_database: str) -> None:
    assert concurrently(new_postgres_database) == []
    assert current_revision(new_postgres_database) == head_revision()
