"""The registration benchmark runs end to end at tiny sizes and prints its table.

It checks that every measurement produced a row, never how fast anything was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.registration_bench import main
from tests.support.rabbitmq import require_rabbitmqctl

pytestmark = [
    pytest.mark.slow,
    pytest.mark.rabbitmq,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),
]


def test_the_benchmark_prints_a_row_per_measurement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_rabbitmqctl()
    output, raw = tmp_path / "table.md", tmp_path / "raw.json"
    arguments = ["--sizes", "40", "--registrars", "1,2", "--watch-samples", "2"]
    arguments += ["--s3-samples", "2", "--output", str(output), "--json", str(raw)]

    assert main(arguments) == 0

    printed = capsys.readouterr().out
    table = output.read_text()
    assert table in printed
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| measurement | N | result | floor (same run) |")
    body = rows[1:]
    assert sum("registration throughput" in row for row in body) == 2
    assert sum("freeze → search latency, watcher path" in row for row in body) == 1
    assert sum("freeze → search latency, S3 via SQS path" in row for row in body) == 1
    assert sum("registrar resident memory" in row for row in body) == 1
    assert all(row.rstrip().endswith(("| pass |", "| FAIL |", "| - |")) for row in body)
    assert '"throughput"' in raw.read_text()
