"""SQLite's planner statistics, kept by the writing store, make it list ids from narrow indexes.

With sampled statistics each index of ``datasets`` had its own estimate of
the table's rows, and SQLite listed a query's ids by scanning the wide rows
in id order instead of the covering ``ix_datasets_id_filters`` (at 100,000
datasets 152 ms instead of 20 ms).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select

from lookup_events.model import record_from_info
from lookup_events.store import upgrade_database
from lookup_events.store.sql.datasets import SqlDatasetStore
from lookup_events.store.sql.schema import datasets
from tests.support.data import MR_MEN, SNOW_WHITE, make_info

WRITTEN = 4500  # the store analyses after 1,000 writes and again after 4,000


def test_ids_are_listed_from_the_covering_index_after_the_store_analysed(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/planned.db"
    upgrade_database(url)
    store = SqlDatasetStore(create_engine(url))
    try:
        for first in range(0, WRITTEN, 500):
            infos = [
                make_info(i, (MR_MEN, SNOW_WHITE)[i % 2], items=1)
                for i in range(first, first + 500)
            ]
            store.upsert_many([record_from_info(info) for info in infos])
    finally:
        store.close()
    listing = select(datasets.c.id).where(datasets.c.base_uri.in_([MR_MEN, SNOW_WHITE]))
    sql = str(listing.order_by(datasets.c.id).compile(compile_kwargs={"literal_binds": True}))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            estimates = (
                conn.exec_driver_sql("SELECT stat FROM sqlite_stat1 WHERE tbl = 'datasets'")
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert "COVERING INDEX ix_datasets_id_filters" in plan, plan
    assert {estimate.split()[0] for estimate in estimates} == {"4000"}
