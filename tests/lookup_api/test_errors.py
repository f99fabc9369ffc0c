"""A read past its time budget: 503 with Retry-After and a message, on every SQL store."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lookup_events.config import Settings
from lookup_events.model import record_from_info
from lookup_events.store import open_stores
from tests.support.api import Header, client_for
from tests.support.data import make_info
from tests.support.stores import settings_for

DATASETS = 2000


@pytest.mark.slow
def test_a_search_past_the_time_budget_gets_503_and_retry_after(
    database_url: str, tmp_path: Path, settings: Settings, auth: Header
) -> None:
    # NOTE(dev): a phrase sorted by name reads and sorts every match: ~3 ms on
    # SQLite, ~14 ms on PostgreSQL here. The budget stays well under either:
    # 1 ms is the least PostgreSQL takes; SQLite checks its clock only every
    # 10,000 steps, which the few-row reads of authentication never reach.
    budget = 0.0001 if database_url.startswith("sqlite") else 0.001
    timed = dataclasses.replace(settings_for(database_url, tmp_path), query_timeout=budget)
    stores = open_stores(timed)
    try:
        stores.admin.add_user("ann")
        stores.admin.add_base_uri("s3://bucket")
        stores.admin.set_permissions("s3://bucket", search=["ann"], register=[])
        # Writes have no budget: loading thousands of datasets is never stopped.
        records = [record_from_info(make_info(n, "s3://bucket")) for n in range(DATASETS)]
        assert stores.datasets.upsert_many(records) == DATASETS
        client = client_for(settings, stores)

        result = client.simulate_post(
            "/uris",
            json={"free_text": '"synthetic dataset" -nothing'},
            headers=auth("ann"),
            params={"sort": "-name"},
        )

        assert result.status_code == 503, result.text
        assert result.headers["Retry-After"] == "5"
        assert "stopped" in result.json["message"]
        assert client.simulate_get("/config/versions").status_code == 200
    finally:
        stores.close()
