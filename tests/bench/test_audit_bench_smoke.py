"""The audit benchmark runs end to end at a tiny size and prints its table.

It checks that every backend and phase produced a row, never how fast anything was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.audit_bench import PHASES, main

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_the_benchmark_prints_a_row_per_backend_and_phase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "table.md"

    assert main(["--size", "30", "--rounds", "2", "--output", str(output)]) == 0

    table = output.read_text()
    assert table in capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert [row.split(" | ")[:2] for row in rows] == [
        [f"| {backend}", phase] for backend in ("sqlite", "postgres") for phase in PHASES
    ]
