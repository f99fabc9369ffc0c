"""A lookup's first answer, read on a raw connection (``store/sql/copies.py``).

The raw reader must return exactly what SQLAlchemy reads from the same rows,
and a lookup through the store must show the same copies, pages and totals
for every set of base URIs a user may search, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from lookup_events.errors import DatabaseUnavailable, QueryTimedOut
from lookup_events.model import DatasetEntry, record_from_info
from lookup_events.store import Stores
from lookup_events.store.protocols import DATASET_SORT_FIELDS, PageRequest, SearchQuery, SortKey
from lookup_events.store.sql.copies import COLUMNS, CopyReader
from lookup_events.store.sql.engine import make_engine
from lookup_events.store.sql.query import order_by
from lookup_events.store.sql.schema import datasets
from tests.support.data import MR_MEN, SNOW_WHITE, make_info
from tests.support.postgres import terminate_other_backends

THIRD = "s3://seven-dwarfs"
BASE_URIS = (SNOW_WHITE, MR_MEN, THIRD)
UUID = make_info(7, MR_MEN)["uuid"]


def copy_info(base_uri: str, **changes: Any) -> dict[str, Any]:
    """Return the info of dataset 7 as copied into ``base_uri``."""
    info = make_info(7, base_uri)
    info.update(changes)
    return info


# Scalar extras of every JSON kind, on the SNOW_WHITE copy.
EXTRA = {
    "dtoolcore_version": "3.19.0",
    "note": "ü",
    "n": 5,
    "x": 2.5,
    "flag": True,
    "none": None,
}


@pytest.fixture
def copies(stores: Stores) -> Stores:
    """Stores holding three copies of one dataset, each a little different, and others."""
    for base_uri in BASE_URIS:
        stores.admin.add_base_uri(base_uri)
    stores.datasets.upsert_many([record_from_info(make_info(i, MR_MEN)) for i in range(8)])
    stores.datasets.upsert(record_from_info(copy_info(THIRD, tags=[], name="späte Kopie")))
    stores.datasets.upsert(record_from_info(copy_info(SNOW_WHITE, frozen_at=1.0e9, **EXTRA)))
    stores.datasets.upsert_many([record_from_info(make_info(i, SNOW_WHITE)) for i in range(8, 11)])
    return stores


SORTS = [
    (SortKey("uri"),),  # dserver's default
    (SortKey("name", descending=True),),
    (SortKey("frozen_at"), SortKey("uri", descending=True)),
    (SortKey("base_uri", descending=True),),
    (SortKey("creator_username"),),  # a tie everywhere: registration order decides
]


def sqlalchemy_entries(url: str, uuid: str, sort: tuple[SortKey, ...] = ()) -> list[DatasetEntry]:
    """Return the copies of ``uuid`` as SQLAlchemy reads them, sorted, then by row id."""
    engine = make_engine(url)
    columns = [datasets.c[name] for name in COLUMNS]
    ordering = order_by(datasets, sort, DATASET_SORT_FIELDS)
    statement = select(*columns).where(datasets.c.uuid == uuid).order_by(*ordering)
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    engine.dispose()
    return [
        DatasetEntry(*row[:10], tags=tuple(row.tags), extra=row.extra)  # type: ignore[misc]
        for row in rows
    ]


def test_the_raw_reader_returns_what_sqlalchemy_reads(copies: Stores, database_url: str) -> None:
    reader = CopyReader(make_engine(database_url))
    try:
        found = reader.read(UUID)
        assert found == sqlalchemy_entries(database_url, UUID)
        assert [entry.base_uri for entry in found] == [MR_MEN, THIRD, SNOW_WHITE]
        assert found[1].tags == () and found[1].name == "späte Kopie"
        assert found[2].extra == EXTRA
        assert reader.read("00000000-0000-0000-0000-00000000abcd") == []
    finally:
        reader.close()


@pytest.mark.parametrize("sort", SORTS, ids=lambda sort: ",".join(map(str, sort)))
def test_the_raw_reader_sorts_as_the_database_does(
    copies: Stores, database_url: str, sort: tuple[SortKey, ...]
) -> None:
    reader = CopyReader(make_engine(database_url))
    try:
        assert reader.read(UUID, sort) == sqlalchemy_entries(database_url, UUID, sort)
        with pytest.raises(ValueError, match="cannot sort by"):
            reader.read(UUID, (SortKey("uuid; DROP TABLE datasets"),))
    finally:
        reader.close()


@pytest.mark.parametrize("sort", SORTS, ids=lambda sort: ",".join(map(str, sort)))
def test_a_sorted_lookup_shows_the_copies_a_user_may_search_in_order(
    copies: Stores, database_url: str, sort: tuple[SortKey, ...]
) -> None:
    every = sqlalchemy_entries(database_url, UUID, sort)
    for allowed in combinations(BASE_URIS, 2):
        visible = [entry for entry in every if entry.base_uri in allowed]
        for page in (PageRequest(1, 10), PageRequest(2, 1)):
            result = copies.datasets.search(SearchQuery(allowed, uuids=(UUID,)), page, sort)
            assert result.items == visible[page.offset : page.offset + page.size]
            assert result.total == len(visible)


def test_a_lookup_shows_the_copies_a_user_may_search(copies: Stores, database_url: str) -> None:
    every = sqlalchemy_entries(database_url, UUID)
    for size in range(1, len(BASE_URIS) + 1):
        for allowed in combinations(BASE_URIS, size):
            visible = [entry for entry in every if entry.base_uri in allowed]
            for page in (PageRequest(1, 10), PageRequest(1, 1), PageRequest(2, 1)):
                result = copies.datasets.search(SearchQuery(allowed, uuids=(UUID,)), page)
                assert result.items == visible[page.offset : page.offset + page.size]
                assert result.total == len(visible)


def test_a_lookup_sees_the_next_write(copies: Stores) -> None:
    query = SearchQuery(BASE_URIS, uuids=(UUID,))
    assert copies.datasets.search(query, PageRequest()).total == 3

    copies.datasets.delete(f"{THIRD}/{UUID}")

    assert [e.base_uri for e in copies.datasets.search(query, PageRequest()).items] == [
        MR_MEN,
        SNOW_WHITE,
    ]


def test_a_failed_connection_is_replaced(copies: Stores, database_url: str) -> None:
    reader = CopyReader(make_engine(database_url))
    try:
        before = reader.read(UUID)
        if database_url.startswith("sqlite"):
            reader._connections.get()[0].close()  # as a connection gone bad
        else:
            terminate_other_backends(database_url)  # as a server restart
        assert reader.read(UUID) == before
    finally:
        reader.close()


def test_an_unreachable_database_is_unavailable(tmp_path: Path) -> None:
    reader = CopyReader(make_engine(f"sqlite:///{tmp_path}/missing/lookup.db"))
    with pytest.raises(DatabaseUnavailable):
        reader.read(UUID)


@pytest.mark.postgres
def test_a_postgres_server_that_refuses_is_unavailable(postgres_url: str) -> None:
    engine = make_engine(postgres_url.rsplit("/", 1)[0] + "/no_such_database_lookup2")
    reader = CopyReader(engine)
    with pytest.raises(DatabaseUnavailable):
        reader.read(UUID)


def test_a_sqlite_read_past_its_budget_times_out(sqlite_url_migrated: str) -> None:
    engine = make_engine(sqlite_url_migrated)
    row = {
        "uuid": UUID,
        "name": "copy",
        "type": "dataset",
        "creator_username": "grumpy",
        "frozen_at": 1.0,
        "created_at": 1.0,
        "tags": [],
        "extra": {},
        "readme": "",
        "manifest": {},
        "annotations": {},
    }
    copies = [
        {**row, "uri": f"file:///c{n}/{UUID}", "base_uri": f"file:///c{n}"} for n in range(3000)
    ]
    with engine.begin() as conn:
        conn.execute(insert(datasets), copies)
    timed, unbounded = CopyReader(engine, timeout=1e-9), CopyReader(engine)
    try:
        with pytest.raises(QueryTimedOut):
            timed.read(UUID)
        assert len(unbounded.read(UUID)) == 3000
        with pytest.raises(QueryTimedOut):  # the connection stays usable
            timed.read(UUID)
    finally:
        timed.close()
        unbounded.close()
    engine.dispose()
