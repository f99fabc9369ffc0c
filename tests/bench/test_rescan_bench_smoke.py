"""The rescan benchmark runs end to end at a tiny size and prints its table.

It checks that every phase produced a row and that an unchanged base URI
published and read nothing, never how fast anything was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.rescan_bench import main

pytestmark = [pytest.mark.slow]


def test_the_benchmark_prints_a_row_per_phase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "table.md"

    assert main(["--disk", "30", "--s3", "4", "--changed", "2", "--output", str(output)]) == 0

    table = output.read_text()
    assert table in capsys.readouterr().out
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ")][1:]
    rows = [row for row in rows if not row[0].startswith("|--")]
    assert [(row[0], row[2]) for row in rows] == [
        ("| disk", "unchanged"),
        ("| disk", "2 changed READMEs"),
        ("| S3 (moto)", "unchanged"),
        ("| S3 (moto)", "2 changed READMEs"),
    ]
    assert [(row[5], row[6]) for row in rows] == [("0", "0"), ("2", "2"), ("0", "0"), ("2", "2")]
