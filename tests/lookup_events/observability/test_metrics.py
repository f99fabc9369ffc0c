"""The metrics: what each count means, the outcome words, multi-process sums, the switch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lookup_events.events import DatasetEvent
from lookup_events.observability import metrics
from lookup_events.registrar.outcomes import Action, Outcome, Status
from lookup_events.registrar.worker import count_outcome, outcome_label
from tests.support.scrape import sample

EVENT = DatasetEvent.create("frozen", "file:///srv/base/ds", "watch", occurred_at=1000.0)
UPDATED = DatasetEvent.create("updated", "file:///srv/base/ds", "s3", occurred_at=1000.0)


def scraped() -> str:
    return metrics.exposition().decode()


@pytest.mark.parametrize(
    ("outcome", "label"),
    [
        pytest.param(
            Outcome(EVENT, Status.DONE, Action.REGISTERED), "registered", id="registered"
        ),
        pytest.param(Outcome(UPDATED, Status.DONE, Action.REGISTERED), "updated", id="updated"),
        pytest.param(Outcome(EVENT, Status.DONE, Action.REMOVED), "removed", id="removed"),
        pytest.param(Outcome(EVENT, Status.DONE, Action.SKIPPED), "skipped", id="skipped"),
        pytest.param(Outcome(EVENT, Status.RETRY, reason="storage away"), "retried", id="retried"),
        pytest.param(
            Outcome(EVENT, Status.DEAD, reason="invalid"), "dead_lettered", id="dead_lettered"
        ),
    ],
)
def test_every_outcome_is_counted_under_one_of_the_documented_words(
    outcome: Outcome, label: str
) -> None:
    assert outcome_label(outcome) == label
    assert label in metrics.OUTCOMES
    before = sample(scraped(), "dtool_lookup_events_handled_total", outcome=label)
    count_outcome(outcome, now=lambda: 1000.0)
    assert sample(scraped(), "dtool_lookup_events_handled_total", outcome=label) == before + 1


def test_a_registration_records_its_lag_from_the_event_time() -> None:
    text = scraped()
    count, total = (
        sample(text, f"dtool_lookup_registration_lag_seconds_{s}") for s in ("count", "sum")
    )
    count_outcome(Outcome(EVENT, Status.DONE, Action.REGISTERED), now=lambda: 1002.5)
    count_outcome(Outcome(EVENT, Status.DEAD, reason="invalid"), now=lambda: 1009.0)  # no lag
    text = scraped()
    assert sample(text, "dtool_lookup_registration_lag_seconds_count") == count + 1
    assert sample(text, "dtool_lookup_registration_lag_seconds_sum") == pytest.approx(total + 2.5)
    assert sample(text, "dtool_lookup_registration_lag_seconds_bucket", le="5.0") >= 1


def test_rescans_count_themselves_and_what_they_found() -> None:
    before = scraped()
    metrics.count_rescan({"frozen": 3, "unchanged": 10, "failed": 0})
    after = scraped()
    assert (
        sample(after, "dtool_lookup_rescans_total")
        == sample(before, "dtool_lookup_rescans_total") + 1
    )
    for result, n in (("frozen", 3), ("unchanged", 10)):
        expected = sample(before, "dtool_lookup_rescan_datasets_total", result=result) + n
        assert sample(after, "dtool_lookup_rescan_datasets_total", result=result) == expected


def test_switched_off_nothing_is_counted() -> None:
    before = sample(scraped(), "dtool_lookup_events_received_total", source="index")
    metrics.enable(False)
    try:
        metrics.count_received(["index", "index"])
    finally:
        metrics.enable(True)
    metrics.count_received(["index"])
    assert sample(scraped(), "dtool_lookup_events_received_total", source="index") == before + 1


COUNT_IN_CHILD = """
import sys
from lookup_events.observability import metrics
metrics.use_directory(sys.argv[1])
metrics.count_received(["webhook"] * int(sys.argv[2]))
"""

READ_IN_CHILD = """
import sys
from lookup_events.observability import metrics
metrics.use_directory(sys.argv[1])
sys.stdout.write(metrics.exposition().decode())
"""


def test_processes_sharing_a_directory_add_up(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    for n in (2, 5):
        subprocess.run([sys.executable, "-c", COUNT_IN_CHILD, str(directory), str(n)], check=True)
    read = subprocess.run(
        [sys.executable, "-c", READ_IN_CHILD, str(directory)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert sample(read.stdout, "dtool_lookup_events_received_total", source="webhook") == 7


def test_requests_with_odd_methods_share_one_series() -> None:
    labels = {"route": "unmatched", "status": "405"}
    before = sample(scraped(), "dtool_lookup_http_requests_total", method="other", **labels)
    for method in ("BREW", "PROPFIND", "X" * 50):
        metrics.observe_request("unmatched", method, 405, 0.001)
    text = scraped()
    assert sample(text, "dtool_lookup_http_requests_total", method="other", **labels) == before + 3
    assert "BREW" not in text
