"""Smoke test of the summary-after-a-write benchmark: a small corpus on both stores."""

from __future__ import annotations

import pytest

from tests.bench.summary_after_write import run
from tests.support.postgres import DEFAULT_POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_benchmark_prints_a_row_per_backend_with_fresh_summaries() -> None:
    # The benchmark itself raises if a summary after a write misses the dataset.
    table = run(("sqlite", "postgres"), (200,), 2, None, DEFAULT_POSTGRES_URL)

    rows = table.splitlines()[2:]
    assert [row.split("|")[1:3] for row in rows] == [
        [" sqlite ", " 200 "],
        [" postgres ", " 200 "],
    ]
    assert all(float(row.split("|")[3]) > 0 for row in rows)
