"""Smoke test of the dataset-page benchmark: a small manifest, every route timed on both stores."""

from __future__ import annotations

import pytest

from tests.bench.dataset_pages import ROUTES, run
from tests.support.postgres import DEFAULT_POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_benchmark_prints_a_row_per_route_and_backend() -> None:
    table = run(50, ("sqlite", "postgres"), 1, DEFAULT_POSTGRES_URL)

    rows = table.splitlines()[2:]
    assert len(rows) == 2 * len(ROUTES)
    assert "| 50 items, ms |" in table.splitlines()[0]
    manifests = [row for row in rows if "/manifests/" in row]
    # the 50-item manifest's body: every item's hash, relpath, size and time
    assert all(int(row.split("|")[-2].replace(",", "")) > 50 * 100 for row in manifests)
