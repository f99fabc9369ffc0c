"""Smoke test of the search-limits benchmark: tiny N, every request timed."""

from __future__ import annotations

import pytest

from tests.bench.search_limits import OPERATIONS, run
from tests.support.postgres import DEFAULT_POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_benchmark_prints_a_row_per_request_and_backend() -> None:
    table = run(200, ("sqlite", "postgres"), 2, DEFAULT_POSTGRES_URL)
    rows = table.splitlines()[2:]
    assert len(rows) == 2 * len(OPERATIONS)
    assert all(row.endswith("x |") for row in rows)
    assert rows[0].endswith("| 1.00x |")
    refused = [row for row in rows if "(refused)" in row]
    assert refused and all("| 422 |" in row for row in refused)
