"""Benchmark normal searches and the refusal of oversized ones, through the app, in one run.

Run: ``.venv/bin/python -m tests.bench.search_limits --size 10000
--backends sqlite,postgres``. Each backend gets a fresh database seeded
through the real store (``seeding.py``); every request then goes through
``create_app`` in-process (validation, the store, the JSON body), each a
cache miss (an untimed re-registration bumps the store revision first).
The table shows the status, the median and slowest request in
milliseconds, and the median as a multiple of the plain search's median in
the same group. To compare with another checkout, run this file with that
checkout first on ``PYTHONPATH``: only routes both have are used.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from falcon import testing

from lookup_api.app import create_app
from lookup_events.config import Settings
from lookup_events.model import record_from_info
from lookup_events.store import Stores, open_stores
from lookup_events.tokens import issue_token
from tests.bench.seeding import BACKENDS, seed, temporary_database
from tests.bench.synthetic import BASE_URIS, Corpus
from tests.support.api import key_pair

USERNAME = "bench-user"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
MEGABYTE_TEXT = " ".join(f"w{n}" for n in range(150_000))[:1_000_000]

Request = Callable[[testing.TestClient, dict[str, str]], testing.Result]


def _search(body: dict[str, Any]) -> Request:
    def request(client: testing.TestClient, headers: dict[str, str]) -> testing.Result:
        return client.simulate_post("/dataset/search", json=body, headers=headers)

    return request


OPERATIONS: tuple[tuple[str, Request], ...] = (
    ("plain search (page 1 of 10, total)", _search({})),
    ("free text: one common word", _search({"free_text": "genome"})),
    ("free text: three words", _search({"free_text": "genome protein folding"})),
    (
        "free text: word, one base URI",
        _search({"free_text": "genome", "base_uris": [BASE_URIS[0]]}),
    ),
    ("free text: word and tag", _search({"free_text": "genome", "tags": ["raw"]})),
    ("free text: phrase, exclusion", _search({"free_text": '"growth curve" -mutant'})),
    ("1,000 uuids (at the limit)", _search({"uuids": [str(uuid.uuid4()) for _ in range(1000)]})),
    ("1 MB of free text (refused)", _search({"free_text": MEGABYTE_TEXT})),
    (
        "20,000 uuids (refused)",
        _search({"uuids": [str(uuid.UUID(int=n)) for n in range(20_000)]}),
    ),
)


@dataclass(frozen=True)
class Timing:
    """The timings and status of one operation in one group."""

    name: str
    status: int
    seconds: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        """Median request time in milliseconds."""
        return statistics.median(self.seconds) * 1000

    @property
    def max_ms(self) -> float:
        """Slowest request time in milliseconds."""
        return max(self.seconds) * 1000


def time_operations(
    stores: Stores,
    client: testing.TestClient,
    headers: dict[str, str],
    corpus: Corpus,
    repeats: int,
    *,
    skip: tuple[str, ...] = (),
) -> list[Timing]:
    """Time each request ``repeats`` times, each after a write (a cache miss)."""
    record = record_from_info(corpus.info(0))
    timings = []
    for name, request in OPERATIONS:
        if any(word in name for word in skip):
            continue
        seconds, status = [], 0
        for _ in range(repeats):
            stores.datasets.upsert(record)  # NOTE(bench): bumps the revision, untimed
            started = time.perf_counter()
            status = request(client, headers).status_code
            seconds.append(time.perf_counter() - started)
        timings.append(Timing(name, status, tuple(seconds)))
    return timings


def group_table(backend: str, size: int, timings: list[Timing]) -> str:
    """Return the Markdown rows of one backend and size."""
    plain = timings[0].median_ms
    return "\n".join(
        f"| {backend} | {size:,} | {t.name} | {t.status} | {t.median_ms:.1f} | {t.max_ms:.1f} "
        f"| {t.median_ms / plain:.2f}x |"
        for t in timings
    )


HEADER = (
    "| store | datasets | request | status | median ms | max ms | x plain search |\n"
    "|---|---:|---|---:|---:|---:|---:|"
)


def run(
    size: int,
    backends: tuple[str, ...],
    repeats: int,
    postgres_url: str,
    skip: tuple[str, ...] = (),
) -> str:
    """Seed, time and return the Markdown table of every backend."""
    keys = key_pair()
    headers = {"Authorization": f"Bearer {issue_token(keys.private_pem, USERNAME)}"}
    rows = []
    for backend in backends:
        with tempfile.TemporaryDirectory() as folder:
            workdir = Path(folder)
            with temporary_database(backend, workdir, postgres_url) as url:
                corpus = Corpus(size)
                print(f"seeding {size:,} on {backend}", file=sys.stderr)
                seed(url, workdir, corpus, USERNAME)
                settings = Settings(
                    data_dir=workdir, database_url=url, jwt_public_key=keys.public_pem
                ).completed()
                stores = open_stores(settings)
                try:
                    client = testing.TestClient(create_app(settings, stores))
                    timings = time_operations(stores, client, headers, corpus, repeats, skip=skip)
                    rows.append(group_table(backend, size, timings))
                finally:
                    stores.close()
    return "\n".join([HEADER, *rows])


@click.command()
@click.option("--size", default=10_000, type=int, help="Datasets to seed.")
@click.option("--backends", default=",".join(BACKENDS), help="sqlite and/or postgres.")
@click.option("--repeats", default=15, type=click.IntRange(1, 200), help="Requests per row.")
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, help="Server for the databases.")
@click.option(
    "--skip",
    default="",
    help="Comma-separated words; requests whose name holds one are left out (a checkout "
    "that crashes on them: 1 MB of free text killed the process before issue 14).",
)
def main(size: int, backends: str, repeats: int, postgres_url: str, skip: str) -> None:
    """Print the search-limits benchmark table (Markdown) to stdout."""
    words = tuple(word for word in skip.split(",") if word)
    print(run(size, tuple(backends.split(",")), repeats, postgres_url, words))


if __name__ == "__main__":
    main()
