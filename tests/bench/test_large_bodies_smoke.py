"""Smoke tests of the large-registration benchmarks: tiny sizes, tables printed, never speed."""

from __future__ import annotations

import pytest

from tests.bench import register_latency, storage_manifest

pytestmark = pytest.mark.slow


def test_register_latency_prints_a_row_per_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert register_latency.main(["--items", "2000", "--backends", "sqlite", "--rounds", "1"]) == 0

    table = capsys.readouterr().out.splitlines()

    assert table[0].startswith("| backend | items | body MiB")
    assert table[2].startswith("| sqlite | 2,000 |")


def test_storage_manifest_stores_every_item(capsys: pytest.CaptureFixture[str]) -> None:
    assert storage_manifest.main(["--items", "2000", "--backends", "sqlite"]) == 0

    row = capsys.readouterr().out.splitlines()[2]

    assert row.startswith("| sqlite | 2,000 |")
    assert "| 2,000 | Registered 1 datasets, 0 failed |" in row
