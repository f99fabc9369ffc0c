"""Engines: rested connections pinged, and the plans PostgreSQL runs for free-text searches.

A pooled connection that rested is pinged on checkout, so one the server
killed meanwhile is replaced rather than failing the request.

The free-text plans are checked with EXPLAIN.

Once ANALYZE has seen a word in most datasets, the planner prices a scan
reading every tsvector below the GIN index; at 100,000 datasets such a
search took 355 ms instead of 115 ms. The store's free-text queries must
reach ``dataset_texts`` through the index whatever the statistics say, and
leave the pooled connection's planner settings as they found them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event

from lookup_events.errors import QueryTimedOut
from lookup_events.model import record_from_info
from lookup_events.store import Stores, open_stores
from lookup_events.store.protocols import PageRequest, SearchQuery, SortKey
from lookup_events.store.sql import engine as sql_engine
from tests.support.data import MR_MEN, SNOW_WHITE, make_info
from tests.support.postgres import empty_postgres, libpq_dsn, terminate_other_backends
from tests.support.stores import Capture, settings_for

DATASETS = 2000  # enough for the store's own ANALYZE to run after the load

pytestmark = pytest.mark.postgres


BOTH = (SNOW_WHITE, MR_MEN)


def total(stores: Stores) -> int:
    return stores.datasets.search(SearchQuery(BOTH), PageRequest(1, 10)).total


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


@pytest.mark.parametrize(("server", "session"), [("4MB", "32MB"), ("64MB", "64MB")])
def test_a_session_sorts_a_long_id_list_in_memory_unless_the_server_gives_more(
    postgres_url_migrated: str, server: str, session: str
) -> None:
    # 200,000 ids (a common word in a million datasets) spill to disk at the default 4 MB.
    engine = sql_engine.make_engine(postgres_url_migrated)
    # As if the server were configured so: before the engine's own settings.
    event.listen(engine, "connect", lambda dbapi, _: _set(dbapi, "work_mem", server), insert=True)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW work_mem").scalar() == session
        plan = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT array(SELECT g FROM"
            " generate_series(1, 200000) AS g ORDER BY g DESC)"
        ).scalars()
        assert any("quicksort" in line for line in plan)
    engine.dispose()


def _set(dbapi_connection: Any, name: str, value: str) -> None:
    dbapi_connection.autocommit = True  # else the pool's first rollback undoes the SET
    dbapi_connection.execute(f"SET {name} = '{value}'")
    dbapi_connection.autocommit = False


# NOTE(dev): the tests below share the session database ``analysed`` loads once, so a
# test that empties it (``postgres_url_migrated``) has to come before them.
@pytest.fixture(scope="module")
def analysed(_migrated_postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's database holding datasets whose READMEs all say "synthetic", analysed."""
    url = _migrated_postgres_url
    empty_postgres(url)
    stores = open_stores(settings_for(url, tmp_path_factory.mktemp("plans")))
    try:
        stores.admin.add_base_uri(MR_MEN)
        records = [record_from_info(make_info(i, MR_MEN)) for i in range(DATASETS)]
        stores.datasets.upsert_many(records)
    finally:
        stores.close()
    return url


@pytest.fixture
def stores(analysed: str, tmp_path: Path) -> Iterator[Stores]:
    opened = open_stores(settings_for(analysed, tmp_path))
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("free_text", "sort"),
    [
        ("synthetic", ()),  # in every dataset
        ('"synthetic dataset"', ()),  # a phrase: every candidate is rechecked
        ("synthetic -project3", ()),
        ("synthetic", (SortKey("name"),)),  # sorted: paged with LIMIT/OFFSET
    ],
)
def test_free_text_reaches_the_texts_through_the_gin_index(
    stores: Stores, analysed: str, free_text: str, sort: tuple[SortKey, ...]
) -> None:
    with Capture() as capture:
        found = stores.datasets.search(SearchQuery((MR_MEN,), free_text), PageRequest(), sort)
    assert found.total > 0
    scans = [node["Node Type"] for plan in explain(analysed, capture) for node in texts(plan)]
    assert scans, "no statement read dataset_texts"
    assert set(scans) == {"Bitmap Heap Scan"}, scans


def test_the_planner_settings_end_with_the_free_text_query(stores: Stores) -> None:
    # Other reads (a listing pages with an index scan in registration order)
    # must not inherit them from the pooled connection.
    with Capture() as capture:
        stores.datasets.search(SearchQuery((MR_MEN,), "synthetic"), PageRequest())
    assert any("set_config" in sql for sql, _ in capture.statements)
    for connection in {id(c): c for c in capture.connections}.values():
        assert connection.execute("SHOW enable_indexscan").fetchone() == ("on",)
        assert connection.execute("SHOW enable_seqscan").fetchone() == ("on",)
        connection.rollback()


def explain(url: str, capture: Capture) -> list[dict[str, Any]]:
    """Replay the captured planner settings in one transaction and EXPLAIN each text read."""
    plans: list[dict[str, Any]] = []
    with psycopg.connect(libpq_dsn(url)) as connection, connection.cursor() as cursor:
        for sql, parameters in capture.statements:
            if "set_config" in sql:
                cursor.execute(sql, parameters)
            elif "dataset_texts" in sql:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql, parameters)
                row = cursor.fetchone()
                assert row is not None
                document = json.loads(row[0]) if isinstance(row[0], str) else row[0]
                plans.append(document[0]["Plan"])
        connection.rollback()
    return plans


def texts(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield the nodes of a JSON plan that read ``dataset_texts``."""
    if plan.get("Relation Name") == "dataset_texts":
        yield plan
    for child in plan.get("Plans", ()):
        yield from texts(child)


def test_the_rows_a_search_visits_hold_little_more_than_ids(analysed: str) -> None:
    # A bitmap heap scan visits every heap page holding a match; with the texts
    # and vectors in TOAST a page holds some 60 rows instead of 6 to 10.
    with psycopg.connect(libpq_dsn(analysed)) as connection:
        pages, rows = connection.execute(  # pages holding live rows: what a scan visits
            "SELECT count(DISTINCT (ctid::text::point)[0]), count(*) FROM dataset_texts"
        ).fetchone()  # type: ignore[misc]
    assert rows == DATASETS
    assert pages * 30 <= rows, f"{rows} rows in {pages} heap pages"


def _count_to(limit: int) -> str:
    return (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
        f"{limit}) SELECT count(*) FROM n"
    )


@sql_engine.translate_errors()
def _read(engine: Engine, statement: str) -> Any:
    with sql_engine.reader(engine).connect() as conn:
        return conn.exec_driver_sql(statement).scalar()


@sql_engine.translate_errors()
def _write(engine: Engine, statement: str) -> Any:
    with sql_engine.writer(engine).begin() as conn:
        return conn.exec_driver_sql(statement).scalar()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_read_past_its_time_budget_is_stopped_and_named(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{backend}_url_migrated")
    engine = sql_engine.make_engine(url)
    timed = sql_engine.timed_reads(engine, 0.2)
    slow = "SELECT pg_sleep(5)" if backend == "postgres" else _count_to(100_000_000)
    try:
        started = time.monotonic()
        with pytest.raises(QueryTimedOut):
            _read(timed, slow)
        assert time.monotonic() - started < 3
        assert _read(timed, _count_to(1000)) == 1000  # the connection serves the next read
        # Writes are never stopped: the budget is the reads' alone.
        quick_write = "SELECT pg_sleep(0.4)" if backend == "postgres" else _count_to(1_500_000)
        _write(engine if backend == "postgres" else timed, quick_write)
    finally:
        timed.dispose()
        engine.dispose()
