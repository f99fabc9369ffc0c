"""Smoke test of the facets-after-a-write benchmark: a small corpus on both stores."""

from __future__ import annotations

import pytest

from tests.bench.facets_after_write import VIEWS, run
from tests.support.postgres import DEFAULT_POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_benchmark_prints_a_row_per_backend_and_view_with_fresh_answers() -> None:
    # The benchmark itself raises if an answer after a write misses the change.
    table = run(("sqlite", "postgres"), (200,), 2, None, DEFAULT_POSTGRES_URL)

    rows = [row.split("|")[1:4] for row in table.splitlines()[2:]]
    views = [f" {view.name} " for view in VIEWS]
    assert rows == [[f" {b} ", " 200 ", v] for b in ("sqlite", "postgres") for v in views]
