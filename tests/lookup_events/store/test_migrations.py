"""Migrations: in step with the models, and upgrading stored data as they promise."""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import warnings
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from lookup_events.model import record_from_info
from lookup_events.store import Stores, open_stores, upgrade_database
from lookup_events.store.dependencies import DEFAULT_KEYS
from lookup_events.store.protocols import GraphQuery, PageRequest, SearchQuery
from lookup_events.store.sql.engine import make_engine
from lookup_events.store.sql.schema import (
    FTS_OBJECTS,
    FTS_TABLE,
    PG_FILTER_COLUMN,
    PG_OUT_OF_LINE_COLUMNS,
    PG_SEARCH_COLUMN,
    PG_SEARCH_INDEX,
    Base,
    dataset_texts,
    include_object,
)
from lookup_events.store.structured import StructuredQuery, parse_filter
from tests.support.data import MR_MEN, SNOW_WHITE, make_info
from tests.support.postgres import libpq_dsn
from tests.support.schema import (
    current_revision,
    dependency_table,
    facet_table,
    field_table,
    head_revision,
    old_schema_settings,
)
from tests.support.stores import settings_for


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            # NOTE(dev): Alembic only warns when a generated column's expression differs.
            warnings.simplefilter("error")
            context = MigrationContext.configure(
                conn, opts={"include_object": include_object, "compare_type": True}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_the_models_declare_every_column(database_url: str) -> None:
    # Autogenerate leaves FTS_OBJECTS out: only the free-text index may hide there.
    assert {PG_SEARCH_COLUMN, PG_FILTER_COLUMN, PG_SEARCH_INDEX} <= FTS_OBJECTS
    assert {name for name in FTS_OBJECTS if not name.startswith(FTS_TABLE)} == {
        PG_SEARCH_COLUMN,
        PG_FILTER_COLUMN,
        PG_SEARCH_INDEX,
    }
    engine = make_engine(database_url)
    try:
        inspector = inspect(engine)
        for table in Base.metadata.sorted_tables:
            stored = {column["name"] for column in inspector.get_columns(table.name)}
            assert stored - set(table.c.keys()) <= {PG_SEARCH_COLUMN, PG_FILTER_COLUMN}, table.name
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_stores_the_texts_as_the_model_declares(postgres_url_migrated: str) -> None:
    with psycopg.connect(libpq_dsn(postgres_url_migrated)) as connection:
        options = connection.execute(
            "SELECT reloptions FROM pg_class WHERE relname = 'dataset_texts'"
        ).fetchone()
        columns = dict(
            connection.execute(
                "SELECT attname, attstorage::text || attgenerated::text FROM pg_attribute "
                "WHERE attrelid = 'dataset_texts'::regclass AND attnum > 0 AND NOT attisdropped"
            ).fetchall()
        )
    declared = dataset_texts.dialect_options["postgresql"]["with"]
    assert options == ([f"{key}={value}" for key, value in declared.items()],)
    assert {columns[name][0] for name in PG_OUT_OF_LINE_COLUMNS} == {"e"}  # EXTERNAL
    assert columns["toast_ballast"][1] == "s"  # stored generated column


def test_the_ballast_takes_no_space_on_sqlite(sqlite_url_migrated: str) -> None:
    path = make_url(sqlite_url_migrated).database
    assert path is not None
    with contextlib.closing(sqlite3.connect(path)) as connection:
        hidden = {
            row[1]: row[6] for row in connection.execute("PRAGMA table_xinfo(dataset_texts)")
        }
    assert hidden["toast_ballast"] == 2  # a virtual generated column


@pytest.mark.postgres
def test_upgrading_postgres_moves_stored_texts_out_of_the_heap(
    new_postgres_database: str, tmp_path: Path
) -> None:
    url = new_postgres_database
    upgrade_database(url, "0001")
    stores = open_stores(old_schema_settings(url, tmp_path))
    try:
        stores.admin.add_base_uri(MR_MEN)
        with facet_table(url):
            records = [record_from_info(make_info(i, MR_MEN)) for i in range(500)]
            stores.datasets.upsert_many(records)
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


@pytest.mark.postgres
def test_upgrading_postgres_from_the_undeclared_ballast_keeps_the_heap_narrow(
    new_postgres_database: str, tmp_path: Path
) -> None:
    url = new_postgres_database
    upgrade_database(url, "0002")
    stores = open_stores(old_schema_settings(url, tmp_path))
    try:
        for base_uri in (MR_MEN, SNOW_WHITE):
            stores.admin.add_base_uri(base_uri)
        infos = [make_info(i, (MR_MEN, SNOW_WHITE)[i % 2]) for i in range(UPGRADED)]
        with facet_table(url):
            stores.datasets.upsert_many([record_from_info(info) for info in infos])
        # NOTE(dev): today's searches need 0009's filter_vector, so the answers
        # are checked against what make_info's datasets must give, after the upgrade.

        upgrade_database(url)

        assert current_revision(url) == head_revision()
        assert text_columns(url)["toast_ballast"] == "s"  # stored generated, declared
        pages, rows = live_heap_pages(url)
        assert rows == UPGRADED and pages * 30 <= rows, f"{rows} rows in {pages} pages"
        stores.datasets.upsert_many(
            [record_from_info(make_info(i, MR_MEN)) for i in range(UPGRADED, 2 * UPGRADED)]
        )
        pages, rows = live_heap_pages(url)
        assert rows == 2 * UPGRADED and pages * 30 <= rows, f"{rows} rows in {pages} pages"
    finally:
        stores.close()
    stores = open_stores(settings_for(url, tmp_path))  # no cached answers
    try:
        after = {query: found(stores, query) for query in UPGRADE_QUERIES}
    finally:
        stores.close()
    assert after == expected_upgrade_answers()


UPGRADED = 300
UPGRADE_QUERIES = (
    SearchQuery((MR_MEN, SNOW_WHITE), "synthetic"),
    SearchQuery((MR_MEN, SNOW_WHITE), '"synthetic dataset 7"'),
    SearchQuery((MR_MEN, SNOW_WHITE), "synthetic -project3"),
    SearchQuery((MR_MEN, SNOW_WHITE), 'project3 project4 -"dataset 13"'),
    SearchQuery((MR_MEN,), "synthetic"),
    SearchQuery((MR_MEN, SNOW_WHITE), "synthetic", creator_usernames=("user3",)),
    SearchQuery((MR_MEN, SNOW_WHITE), "synthetic", tags=("tag10",)),
)


def found(stores: Stores, query: SearchQuery) -> frozenset[str]:
    """Return the names of the datasets below ``UPGRADED`` that match ``query``."""
    page = stores.datasets.search(query, PageRequest(1, 4 * UPGRADED))
    return frozenset(entry.name for entry in page.items if int(entry.name[-6:]) < UPGRADED)


def expected_upgrade_answers() -> dict[SearchQuery, frozenset[str]]:
    """Return what each of ``UPGRADE_QUERIES`` must find among ``make_info``'s datasets."""
    wanted: list[Callable[[int], bool]] = [
        lambda i: True,
        lambda i: i == 7,
        lambda i: i % 10 != 3,
        lambda i: i % 10 in (3, 4) and i != 13,
        lambda i: i % 2 == 0,
        lambda i: i % 7 == 3,
        lambda i: i % 2 == 1 and i % 11 == 10,
    ]
    return {
        query: frozenset(f"dataset-{i:06d}" for i in range(UPGRADED) if keep(i))
        for query, keep in zip(UPGRADE_QUERIES, wanted, strict=True)
    }


def live_heap_pages(url: str) -> tuple[int, int]:
    """Return how many heap pages of ``dataset_texts`` hold live rows, and the rows."""
    with psycopg.connect(libpq_dsn(url)) as connection:
        row = connection.execute(
            "SELECT count(DISTINCT (ctid::text::point)[0]), count(*) FROM dataset_texts"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def text_columns(url: str) -> dict[str, str]:
    """Return ``dataset_texts``' columns with how each is generated ('' if it is not)."""
    with psycopg.connect(libpq_dsn(url)) as connection:
        rows = connection.execute(
            "SELECT attname, attgenerated FROM pg_attribute "
            "WHERE attrelid = 'dataset_texts'::regclass AND attnum > 0 AND NOT attisdropped"
        ).fetchall()
    return dict(rows)


def heap_pages(url: str, table: str) -> int:
    """Return the number of 8 kB pages in ``table``'s heap (its TOAST and indexes apart)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_relation_size(:t)"), {"t": table}).scalar_one()
            return int(size) // 8192
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_upgrading_to_0008_fills_the_annotation_facets(
    dialect: str, new_postgres_database: str, tmp_path: Path
) -> None:
    url = new_postgres_database if dialect == "postgresql" else f"sqlite:///{tmp_path}/old.db"
    upgrade_database(url, "0003")
    stores = open_stores(old_schema_settings(url, tmp_path))
    try:
        stores.admin.add_base_uri(MR_MEN)
        with facet_table(url):
            records = [record_from_info(make_info(i, MR_MEN)) for i in range(1200)]
            stores.datasets.upsert_many(records)
    finally:
        stores.close()

    upgrade_database(url)

    stores = open_stores(settings_for(url, tmp_path))
    try:
        every = SearchQuery((MR_MEN,))
        assert stores.datasets.annotation_keys(every) == {"group": 1200, "index": 1200}
        grouped = SearchQuery((MR_MEN,), annotations=(("group", '"group3"'),))
        assert stores.datasets.search(grouped, PageRequest()).total == 240
    finally:
        stores.close()


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_upgrading_to_0010_fills_the_dependency_links(
    dialect: str, new_postgres_database: str, tmp_path: Path
) -> None:
    url = new_postgres_database if dialect == "postgresql" else f"sqlite:///{tmp_path}/old.db"
    upgrade_database(url, "0012")
    stores = open_stores(settings_for(url, tmp_path))
    infos = [make_info(i, MR_MEN) for i in range(1200)]
    for parent, child in itertools.pairwise(infos):
        child["annotations"] = {"source_dataset_uuid": parent["uuid"]}
    try:
        stores.admin.add_base_uri(MR_MEN)
        with dependency_table(url):
            stores.datasets.upsert_many([record_from_info(info) for info in infos])
    finally:
        stores.close()

    upgrade_database(url)

    stores = open_stores(settings_for(url, tmp_path))
    try:
        query = GraphQuery(str(infos[600]["uuid"]), DEFAULT_KEYS, (MR_MEN,))
        assert stores.datasets.dependency_graph(query, PageRequest(1, 5)).total == 1200
    finally:
        stores.close()


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_upgrading_to_0011_fills_the_structured_query_fields(
    dialect: str, new_postgres_database: str, tmp_path: Path
) -> None:
    url = new_postgres_database if dialect == "postgresql" else f"sqlite:///{tmp_path}/old.db"
    upgrade_database(url, "0009")
    stores = open_stores(settings_for(url, tmp_path))
    try:
        stores.admin.add_base_uri(MR_MEN)
        with field_table(url):
            records = [record_from_info(make_info(i, MR_MEN)) for i in range(600)]
            stores.datasets.upsert_many(records)
    finally:
        stores.close()

    upgrade_database(url)

    stores = open_stores(settings_for(url, tmp_path))
    try:
        grouped = parse_filter({"annotations.group": "group3", "tags": {"$exists": True}})
        found = stores.datasets.structured_search(
            StructuredQuery((MR_MEN,), grouped), PageRequest()
        )
        assert found.total == 120
    finally:
        stores.close()
