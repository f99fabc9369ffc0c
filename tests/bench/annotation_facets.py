"""Benchmark annotation facets and filters next to a plain search, in one run.

Run: ``.venv/bin/python -m tests.bench.annotation_facets --sizes 10000,100000
--backends sqlite,postgres``. Each backend and size gets a fresh database
seeded through the real store (``seeding.py``: four annotations a dataset,
``status`` with 2 values, ``replicate`` with 6, ``experiment_id`` with up to
5,000), then each operation runs ``--repeats`` times through the store,
in-process. Every timed call is a cache miss: an untimed re-registration of
one dataset before it bumps the store revision, as any write does, so the
SQL store's revision cache cannot answer. The table shows the median and
the slowest call in milliseconds, and the median as a multiple of the plain
search's median measured in the same group.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.protocols import PageRequest, SearchQuery
from tests.bench.seeding import BACKENDS, seeded_groups
from tests.bench.synthetic import BASE_URIS, Corpus

USERNAME = "bench-user"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ALL = BASE_URIS
PAGE = PageRequest(1, 10)
REVIEW = (("status", '"needs-review"'),)

Operation = Callable[[Stores], Any]

OPERATIONS: tuple[tuple[str, Operation], ...] = (
    ("plain search (page 1 of 10, total)", lambda s: s.datasets.search(SearchQuery(ALL), PAGE)),
    (
        "search status=needs-review",
        lambda s: s.datasets.search(SearchQuery(ALL, annotations=REVIEW), PAGE),
    ),
    (
        "search status=needs-review, replicate=3",
        lambda s: s.datasets.search(
            SearchQuery(ALL, annotations=(*REVIEW, ("replicate", "3"))), PAGE
        ),
    ),
    ("keys, no filter", lambda s: s.datasets.annotation_keys(SearchQuery(ALL))),
    (
        "keys, status=needs-review",
        lambda s: s.datasets.annotation_keys(SearchQuery(ALL, annotations=REVIEW)),
    ),
    (
        "values of status, replicate",
        lambda s: s.datasets.annotation_values(
            SearchQuery(ALL, annotation_keys=("status", "replicate"))
        ),
    ),
    (
        "values of experiment_id (5,000 values)",
        lambda s: s.datasets.annotation_values(
            SearchQuery(ALL, annotation_keys=("experiment_id",))
        ),
    ),
)


@dataclass(frozen=True)
class Timing:
    """The timings of one operation in one group, in seconds."""

    name: str
    seconds: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        """Median call time in milliseconds."""
        return statistics.median(self.seconds) * 1000

    @property
    def max_ms(self) -> float:
        """Slowest call time in milliseconds."""
        return max(self.seconds) * 1000


def time_operations(stores: Stores, corpus: Corpus, repeats: int) -> list[Timing]:
    """Time each operation ``repeats`` times, each call after a write (a cache miss)."""
    record = record_from_info(corpus.info(0))
    timings = []
    for name, operation in OPERATIONS:
        seconds = []
        for _ in range(repeats):
            stores.datasets.upsert(record)  # NOTE(bench): bumps the revision, untimed
            started = time.perf_counter()
            operation(stores)
            seconds.append(time.perf_counter() - started)
        timings.append(Timing(name, tuple(seconds)))
    return timings


def group_table(backend: str, size: int, timings: list[Timing]) -> str:
    """Return the Markdown rows of one backend and size."""
    plain = timings[0].median_ms
    return "\n".join(
        f"| {backend} | {size:,} | {t.name} | {t.median_ms:.1f} | {t.max_ms:.1f} "
        f"| {t.median_ms / plain:.2f}x |"
        for t in timings
    )


HEADER = (
    "| store | datasets | operation | median ms | max ms | x plain search |\n"
    "|---|---:|---|---:|---:|---:|"
)


def run(sizes: tuple[int, ...], backends: tuple[str, ...], repeats: int, postgres_url: str) -> str:
    """Seed, time and return the Markdown table of every backend and size."""
    rows = []
    for group in seeded_groups(backends, sizes, postgres_url, Corpus, USERNAME):
        timings = time_operations(group.stores, group.corpus, repeats)
        rows.append(group_table(group.backend, group.size, timings))
    return "\n".join([HEADER, *rows])


@click.command()
@click.option("--sizes", default="10000,100000", help="Comma-separated dataset counts.")
@click.option("--backends", default=",".join(BACKENDS), help="sqlite and/or postgres.")
@click.option("--repeats", default=15, type=click.IntRange(1, 200), help="Calls per operation.")
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, help="Server for the databases.")
def main(sizes: str, backends: str, repeats: int, postgres_url: str) -> None:
    """Print the annotation-facet benchmark table (Markdown) to stdout."""
    table = run(
        tuple(int(size) for size in sizes.split(",")),
        tuple(backends.split(",")),
        repeats,
        postgres_url,
    )
    print(table)


if __name__ == "__main__":
    main()
