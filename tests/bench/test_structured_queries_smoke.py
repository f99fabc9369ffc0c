"""Smoke test of the structured-query benchmark: tiny N, every operation timed."""

from __future__ import annotations

import pytest

from tests.bench.structured_queries import OPERATIONS, run
from tests.support.postgres import DEFAULT_POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_benchmark_prints_a_row_per_operation_and_backend() -> None:
    table = run((200,), ("sqlite", "postgres"), 2, DEFAULT_POSTGRES_URL)
    rows = table.splitlines()[2:]
    assert len(rows) == 2 * len(OPERATIONS)
    assert all(row.endswith("x |") for row in rows)
    assert rows[0].endswith("| 1.00x |")
