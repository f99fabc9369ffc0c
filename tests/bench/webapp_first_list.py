"""How long the web app takes to show its first result list, in a real browser.

Seeds N synthetic datasets (tests/bench/synthetic.py) into a fresh database,
serves the API (with the web app) under gunicorn with one worker, and opens
the app in headless Chromium already signed in (the token put in
sessionStorage before the page loads). Timed: from navigation to the first
result row in the page, which includes the page, its modules, ``/me`` and
``GET /uris`` (the summary and facets load beside it, not before it). The
baseline, measured in the same run: the one ``GET /uris`` request the list
needs, made directly over HTTP. The first visit is a cold cache in the
server; later visits are warm.

    .venv/bin/python -m tests.bench.webapp_first_list --sizes 10000,100000 --repeats 5
"""

from __future__ import annotations

import contextlib
import http.client
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click
from playwright.sync_api import Browser

from lookup_events.keys import embedded_key_pair
from lookup_events.tokens import issue_token
from tests.bench.loaders import LOOPBACK
from tests.bench.seeding import BACKENDS, seed, temporary_database
from tests.bench.server import gunicorn, server_environment
from tests.bench.synthetic import Corpus
from tests.support.browser import chromium
from tests.support.postgres import DEFAULT_POSTGRES_URL

USERNAME = "benchuser"
LIST_QUERY = "/uris?sort=-frozen_at&page=1&page_size=10"
GOAL_MS = 1000.0
TOKEN_KEY = "dtool-lookup-token"


@dataclass(frozen=True)
class Row:
    """One measure of one store and size: all its times in seconds."""

    backend: str
    size: int
    name: str
    seconds: tuple[float, ...]

    def cells(self, baseline_ms: float) -> str:
        """Return the Markdown row, with the ratio to ``baseline_ms``."""
        median = statistics.median(self.seconds) * 1000
        first = self.seconds[0] * 1000
        return (
            f"| {self.backend} | {self.size:,} | {self.name} | {first:.0f} | {median:.0f} "
            f"| {max(self.seconds) * 1000:.0f} | {median / baseline_ms:.1f}x |"
        )


HEADER = (
    "| store | datasets | measure | first (cold) ms | median ms | max ms | x API call |\n"
    "|---|---:|---|---:|---:|---:|---:|"
)


def api_call_seconds(port: int, token: str) -> float:
    """Time the one ``GET /uris`` the first list needs."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
    try:
        started = time.perf_counter()
        connection.request("GET", LIST_QUERY, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {LIST_QUERY} answered {response.status}")
    return elapsed


def first_list_seconds(browser: Browser, url: str, token: str) -> float:
    """Time a signed-in visit from navigation to the first result row."""
    context = browser.new_context()
    try:
        context.add_init_script(f"sessionStorage.setItem({TOKEN_KEY!r}, {token!r});")
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url)
        page.locator(".result").first.wait_for(timeout=60_000)
        return time.perf_counter() - started
    finally:
        context.close()


def measure(browser: Browser, port: int, token: str, repeats: int) -> tuple[list[float], ...]:
    """Alternate browser visits and API calls ``repeats`` times (the first of each cold)."""
    visits, calls = [], []
    for _ in range(repeats):
        visits.append(first_list_seconds(browser, f"http://{LOOPBACK}:{port}/", token))
        calls.append(api_call_seconds(port, token))
    return visits, calls


def run_one(backend: str, size: int, repeats: int, postgres_url: str, browser: Browser) -> str:
    """Seed one store with ``size`` datasets and return its two table rows."""
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(temporary_database(backend, workdir, postgres_url))
        print(f"seeding {size:,} on {backend}", file=sys.stderr)
        seed(url, workdir, Corpus(size), USERNAME)
        keys = embedded_key_pair(workdir / "keys")
        env = server_environment(
            {
                "DTOOL_LOOKUP_DATA_DIR": str(workdir),
                "DTOOL_LOOKUP_DATABASE_URL": url,
                "JWT_PUBLIC_KEY": keys.public_pem,
            }
        )
        server = stack.enter_context(gunicorn("lookup_api.wsgi:app", env, workdir))
        token = issue_token(keys.private_pem, USERNAME, expires_in=3600)
        visits, calls = measure(browser, server.port, token, repeats)
    baseline = statistics.median(calls) * 1000
    return "\n".join(
        (
            Row(backend, size, "GET /uris (the list's request)", tuple(calls)).cells(baseline),
            Row(backend, size, "web app: first result list", tuple(visits)).cells(baseline),
        )
    )


def run(sizes: tuple[int, ...], backends: tuple[str, ...], repeats: int, postgres_url: str) -> str:
    """Measure every backend and size; return the Markdown table."""
    rows = []
    with chromium() as browser:
        for backend in backends:
            for size in sizes:
                rows.append(run_one(backend, size, repeats, postgres_url, browser))
    return "\n".join([HEADER, *rows])


@click.command()
@click.option("--sizes", default="10000,100000", show_default=True, help="Comma-separated.")
@click.option("--backends", default=",".join(BACKENDS), show_default=True)
@click.option("--repeats", type=click.IntRange(min=2), default=5, show_default=True)
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, show_default=True)
def main(sizes: str, backends: str, repeats: int, postgres_url: str) -> None:
    """Print the table of first-list times."""
    table = run(
        tuple(int(size) for size in sizes.split(",")),
        tuple(backends.split(",")),
        repeats,
        postgres_url,
    )
    print(table)
    print(f"\ngoal: first result list under {GOAL_MS:.0f} ms at 100,000 datasets")


if __name__ == "__main__":
    main()
