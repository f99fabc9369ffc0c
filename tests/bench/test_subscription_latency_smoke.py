"""Smoke test of the subscription benchmark: a few freezes and records, every figure present."""

from __future__ import annotations

import pytest

from tests.bench.subscription_latency import run
from tests.support.postgres import DEFAULT_POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_benchmark_delivers_every_freeze_and_prints_both_tables() -> None:
    tables = run(20, 100, ("sqlite", "postgres"), 0.0, DEFAULT_POSTGRES_URL)
    latency, throughput = tables.split("\n\n")
    rows = latency.splitlines()[2:]
    assert [row.split(" | ")[3] for row in rows] == ["20", "20"]  # every freeze delivered
    rows = throughput.splitlines()[2:]
    assert len(rows) == 4  # idle and sending, per backend
    assert all(row.endswith("x |") for row in rows)
