"""Smoke test of the web app's first-list benchmark: tiny N, both stores, every row."""

from __future__ import annotations

import pytest

from tests.bench.webapp_first_list import run
from tests.support.postgres import DEFAULT_POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_benchmark_prints_both_measures_per_backend() -> None:
    table = run((200,), ("sqlite", "postgres"), 2, DEFAULT_POSTGRES_URL)
    rows = table.splitlines()[2:]
    assert len(rows) == 4
    assert all(row.endswith("x |") for row in rows)
    assert "| 1.0x |" in rows[0]
    assert "first result list" in rows[1]
