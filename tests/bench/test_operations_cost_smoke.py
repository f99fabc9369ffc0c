"""The operations cost benchmark runs end to end at a tiny size and prints its tables.

It checks that every workload has a row, that the "on" side really counted,
logged JSON and audited while the "off" side did none of it, and that every
freeze was delivered; never how fast anything was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.operations_cost import main
from tests.support.rabbitmq import require_rabbitmqctl

pytestmark = [
    pytest.mark.slow,
    pytest.mark.rabbitmq,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),
]

SIZES = ["--datasets", "10", "--rounds", "1", "--api-size", "100", "--duration", "0.5"]
SIZES += ["--freezes", "5", "--records", "100", "--scrape-interval", "0.2"]


def test_the_benchmark_prints_every_row_and_only_the_on_side_observes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_rabbitmqctl()
    output = tmp_path / "table.md"

    assert main([*SIZES, "--output", str(output)]) == 0

    printed = capsys.readouterr()
    tables = output.read_text()
    assert tables in printed.out
    rows = [line for line in tables.splitlines() if line.startswith("| ")]
    assert rows[0] == "| workload | all off | all on | on / off (range) | cost (target ≤ 10%) |"
    assert [row.split(" | ")[0] for row in rows[1:6]] == [
        "| registration (10 datasets a round)",
        "| registration (10 datasets a round), audit trail off",
        "| GET /dataset/lookup/<uuid>",
        "| POST /dataset/search",
        "| GET /dataset/list?page=P",
    ]
    delivery = rows[-1].split(" | ")
    assert delivery[0] == "| delivery latency from commit (SQLite)"
    assert delivery[1:4] == ["5", "50/s", "5"]  # every freeze delivered
    progress = printed.err
    assert "; off: 0 audit entries written, 0 JSON log lines" in progress
    assert "; on: 60 audit entries written" in progress  # warm-up and round datasets
    assert "on, audit off: 0 audit entries written" in progress
    assert "(events counted: True)" in progress
    assert "(requests counted: True)" in progress
    assert "off: /metrics answers 404" in progress
    assert "off: 0 JSON log lines" in progress
    assert "non-2xx or socket errors {'off': 0, 'on': 0}" in progress
