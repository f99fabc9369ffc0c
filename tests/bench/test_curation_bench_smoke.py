"""Smoke test of the curation benchmark: a 1 MiB item, every row measured."""

from __future__ import annotations

import pytest

from tests.bench.curation_bench import run

pytestmark = pytest.mark.slow


def test_the_benchmark_prints_every_row() -> None:
    rows = run(1, 2).splitlines()[2:]

    assert len(rows) == 5
    assert rows[0].endswith("| 1.00x |  |")
    assert rows[-1].split("|")[4].strip()  # the download's peak memory
