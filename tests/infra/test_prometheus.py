"""infra/prometheus and infra/grafana: the alert rules pass promtool, and name only our metrics.

``promtool`` comes from Debian's ``prometheus`` package (``.ci/run`` installs
it); without it these tests fail rather than skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from lookup_events.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "infra" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "infra" / "prometheus" / "alerts.test.yml"
DASHBOARD = ROOT / "infra" / "grafana" / "dtool-lookup.json"
NAME = re.compile(r"\bdtool_lookup_[a-z0-9_]+")
ALERTS = {
    "DtoolLookupDeadLettersWaiting",
    "DtoolLookupRegistrationLagHigh",
    "DtoolLookupSourceSilent",
    "DtoolLookupApiErrors",
    "DtoolLookupQueueUnreachable",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool in the rules' directory."""
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: apt-get install prometheus"
    return subprocess.run(
        [tool, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=120, check=False
    )


def exported_names() -> set[str]:
    """Return every sample name our processes export, once each metric has a value."""
    metrics.observe_request("/uris", "GET", 200, 0.01)
    metrics.count_received(["watch"])
    metrics.count_handled("registered", lag=1.0)
    metrics.count_rescan({"frozen": 1})
    text = metrics.exposition(lambda: {"ready": 0, "delayed": 0, "dead": 0}).decode()
    return {
        found.name
        for family in text_string_to_metric_families(text)
        for found in family.samples
        if found.name.startswith("dtool_lookup_")
    }


def test_the_alert_rules_pass_promtool_check() -> None:
    checked = promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in checked.stdout


def test_the_alert_rules_fire_when_they_should_and_only_then() -> None:
    tested = promtool("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_the_issue_asks_for_is_there() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    assert {rule["alert"] for group in groups for rule in group["rules"]} == ALERTS


@pytest.mark.parametrize("path", [RULES, DASHBOARD], ids=lambda path: path.name)
def test_rules_and_dashboard_reference_only_metrics_we_export(path: Path) -> None:
    referenced = set(NAME.findall(path.read_text()))
    assert referenced, path
    assert sorted(referenced - exported_names()) == []


def test_the_dashboard_shows_every_metric_we_export() -> None:
    document = json.loads(DASHBOARD.read_text())
    exprs = " ".join(t["expr"] for panel in document["panels"] for t in panel["targets"])
    families = {re.sub(r"_(total|bucket|count|sum|created)$", "", n) for n in exported_names()}
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in NAME.findall(exprs)}
    assert sorted(families - shown) == []
