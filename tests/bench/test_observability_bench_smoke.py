"""The metrics-and-logs cost benchmark runs end to end at a tiny size and prints its table.

It runs as its own process: the benchmark puts prometheus-client into
multi-process mode, which must not leak into the other tests. It checks the
table, never how fast anything was.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),
]

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_prints_a_row_per_workload(tmp_path: Path) -> None:
    output = tmp_path / "table.md"
    command = [sys.executable, "-m", "tests.bench.observability_bench", "--datasets", "10"]
    command += ["--requests", "20", "--rounds", "1", "--output", str(output)]
    ran = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )

    assert ran.returncode == 0, ran.stderr
    table = output.read_text()
    assert table in ran.stdout
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows[0] == "| workload | off | on | on / off (range) | cost (target ≤ 10%) |"
    assert [row.split("|")[1].strip() for row in rows[1:]] == [
        "registration throughput",
        "lookup throughput",
    ]
