"""Datasets per base URI (``dataset_counts``): exact after every write, read for unfiltered totals.

The counts must equal what counting the rows gives after inserts,
re-registrations, deletions and concurrent writers; an unfiltered list longer
than the id cache takes its total from them and reads no ids to page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select

from lookup_events.model import record_from_info
from lookup_events.store import open_stores, upgrade_database
from lookup_events.store.protocols import PageRequest, SearchQuery
from lookup_events.store.sql.datasets import SqlDatasetStore
from lookup_events.store.sql.schema import dataset_counts, datasets
from tests.support.data import MR_MEN, SNOW_WHITE, make_info
from tests.support.schema import count_table
from tests.support.stores import settings_for

BOTH = (MR_MEN, SNOW_WHITE)


def infos(numbers: range, base_uri: str = MR_MEN) -> list[Any]:
    return [record_from_info(make_info(i, base_uri, items=1)) for i in numbers]


def kept_and_counted(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """Return the kept counts (zeros left out) and the rows' own counts, by base URI."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            kept = dict(conn.execute(select(dataset_counts)).all())
            rows = select(datasets.c.base_uri, func.count()).group_by(datasets.c.base_uri)
            found = dict(conn.execute(rows).all())
    finally:
        engine.dispose()
    return {uri: n for uri, n in kept.items() if n}, found


@pytest.fixture
def store(database_url: str) -> Iterator[SqlDatasetStore]:
    opened = SqlDatasetStore(create_engine(database_url))
    yield opened
    opened.close()


def test_every_kind_of_write_keeps_the_counts_exact(
    store: SqlDatasetStore, database_url: str
) -> None:
    steps = [
        lambda: store.upsert_many(infos(range(30)) + infos(range(30, 40), SNOW_WHITE)),
        lambda: store.upsert_many(infos(range(25, 35))),  # 5 again, 5 new
        lambda: store.upsert(infos(range(3, 4), SNOW_WHITE)[0]),  # a copy elsewhere
        lambda: store.upsert(infos(range(3, 4))[0]),  # registered again
        lambda: store.delete(infos(range(7, 8))[0].uri),
        lambda: store.delete(infos(range(7, 8))[0].uri),  # gone already
        lambda: store.delete_base_uri(SNOW_WHITE),
    ]
    expected = [{MR_MEN: 30, SNOW_WHITE: 10}, {MR_MEN: 35, SNOW_WHITE: 10}]
    expected += [{MR_MEN: 35, SNOW_WHITE: 11}] * 2 + [{MR_MEN: 34, SNOW_WHITE: 11}] * 2
    expected += [{MR_MEN: 34}]
    for step, counts in zip(steps, expected, strict=True):
        step()
        assert kept_and_counted(database_url) == (counts, counts)
        assert store.search(SearchQuery(BOTH), PageRequest(1, 5)).total == sum(counts.values())


def test_an_unfiltered_list_past_the_cache_pages_without_reading_its_ids(
    database_url: str, store: SqlDatasetStore
) -> None:
    store.upsert_many(infos(range(60)) + infos(range(60, 90), SNOW_WHITE))
    capped = SqlDatasetStore(create_engine(database_url), max_cached_ids=20)
    limits: list[Any] = []
    event.listen(
        capped._read_engine,  # type: ignore[attr-defined]
        "before_cursor_execute",
        lambda conn, cursor, statement, parameters, context, many: limits.append(parameters),
    )
    try:
        for page in (PageRequest(1, 10), PageRequest(9, 10), PageRequest(3, 7)):
            expected = store.search(SearchQuery(BOTH), page)
            assert capped.search(SearchQuery(BOTH), page) == expected
            assert capped.search(SearchQuery((SNOW_WHITE,)), page) == store.search(
                SearchQuery((SNOW_WHITE,)), page
            )
    finally:
        capped.close()
    assert not [p for p in limits if 21 in (p.values() if isinstance(p, dict) else p)]


@pytest.mark.postgres
def test_concurrent_writers_count_every_new_dataset_once(postgres_url_migrated: str) -> None:
    url = postgres_url_migrated
    stores = [SqlDatasetStore(create_engine(url)) for _ in range(3)]
    failures: list[BaseException] = []

    def register(store: SqlDatasetStore, start: int) -> None:
        try:
            for first in range(start, start + 120, 12):
                store.upsert_many(infos(range(first, first + 12)) + infos(range(5), SNOW_WHITE))
        except BaseException as error:
            failures.append(error)

    threads = [
        threading.Thread(target=register, args=(store, 1000 * n)) for n, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert failures == []
    expected = {MR_MEN: 360, SNOW_WHITE: 5}
    assert kept_and_counted(url) == (expected, expected)


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_upgrading_to_0018_counts_the_datasets_there(
    dialect: str, new_postgres_database: str, tmp_path: Path
) -> None:
    url = new_postgres_database if dialect == "postgresql" else f"sqlite:///{tmp_path}/old.db"
    upgrade_database(url, "0017")
    with count_table(url):
        stores = open_stores(settings_for(url, tmp_path))
        try:
            stores.datasets.upsert_many(infos(range(40)) + infos(range(40, 55), SNOW_WHITE))
        finally:
            stores.close()

    upgrade_database(url)

    assert kept_and_counted(url) == ({MR_MEN: 40, SNOW_WHITE: 15},) * 2
