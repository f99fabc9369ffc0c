"""Smoke test of the benchmark harness: tiny N, about a second per endpoint.

Asserts that the harness runs end to end and that every endpoint answered
200; it never asserts on speed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.bench.api_bench import Options, run_benchmark
from tests.bench.loaders import Loader, PythonLoader, WrkLoader, probe
from tests.bench.report import POOLED_SEARCH, all_answered, render_markdown
from tests.bench.server import gunicorn, server_environment
from tests.bench.workload import Request, Target, bare_target
from tests.support.postgres import DEFAULT_POSTGRES_URL
from tests.support.servers import require_service

pytestmark = pytest.mark.slow

ENDPOINTS = (
    "bare GET /",
    "GET /dataset/lookup/<uuid>",
    "GET /uuids/<uuid>",
    "GET /dataset/list?page=P",
    "GET /dataset/list?page=P&page_size=100",
    "POST /dataset/search",
    "GET /dataset/summary",
)


def _loaders() -> list[Loader]:
    wrk = shutil.which("wrk")
    return [PythonLoader(), *([WrkLoader(wrk)] if wrk else [])]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_benchmark_prints_table_and_every_endpoint_answers_200(backend: str) -> None:
    server = make_url(os.environ.get("DTOOL_LOOKUP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    if backend == "postgres":
        require_service("PostgreSQL", server.host or "127.0.0.1", server.port or 5432)
    # NOTE(dev): the Python loader runs a fraction of a second (wrk takes whole seconds);
    # both loaders are checked on their own below.
    options = Options(
        sizes=(200,),
        backends=(backend,),
        duration=0.3,
        connections=4,
        loader="python",
        postgres_url=server.render_as_string(hide_password=False),
    )

    report = run_benchmark(options)

    markdown = render_markdown(report)
    for endpoint in (*ENDPOINTS, POOLED_SEARCH):
        assert f"| {backend} | 200 | `{endpoint}` |" in markdown
    assert "worker RSS MB" in markdown and "p99 < 50 ms" in markdown
    assert all_answered(report), markdown
    (group,) = report.groups
    assert group.seed.datasets == 200
    for lookup in group.measurements[:2]:  # 0.18's route and dserver's
        assert lookup.probe.statuses == {200: 20}, lookup.endpoint
        assert lookup.probe.first_items == 1, f"a seeded UUID was not found: {lookup.endpoint}"
    assert group.rss_mb > 0
    assert [run.endpoint for run in group.single_runs] == list(ENDPOINTS[1:])
    assert all(run.result.requests > 0 for run in group.single_runs)


@pytest.mark.parametrize("loader", _loaders(), ids=lambda loader: loader.name)
def test_loaders_count_answers_other_than_200(loader: Loader) -> None:
    missing = Target("missing", (Request("GET", "/missing"),))
    with (
        tempfile.TemporaryDirectory() as folder,
        gunicorn("tests.bench.bare_app:app", server_environment({}), Path(folder)) as server,
    ):
        assert probe(server.port, bare_target(), {}).all_ok
        good = loader.run(server.port, bare_target(), {}, 1.0, 2)
        bad = loader.run(server.port, missing, {}, 1.0, 2)

    assert good.requests > 0 and good.non_2xx == 0 and good.socket_errors == 0
    assert good.p50_ms <= good.p99_ms
    assert bad.requests > 0 and bad.non_2xx == bad.requests
