"""Benchmark structured queries (``POST /mongo/query``) next to a plain search, in one run.

Run: ``.venv/bin/python -m tests.bench.structured_queries --sizes 10000,100000
--backends sqlite,postgres``. Each backend and size gets a fresh database
seeded through the real store (``seeding.py``: the synthetic corpus, whose
READMEs hold a ``creation_date`` number and whose datasets carry 0-4 of 30
tags and four annotations). Five typical filters run through the store,
in-process, ``--repeats`` times each, every call a cache miss (an untimed
re-registration of one dataset bumps the store revision first, as any write
does): an annotation equality (``status``: a quarter of the datasets), a
numeric range on a README field (one month of ``creation_date`` out of three
years), ``$in`` over two tags, and the annotation AND-ed and OR-ed with one
tag. Each asks for page 1 of 10 with its total, as the route does. The table
shows the median and the slowest call in milliseconds, and the median as a
multiple of the plain search's median measured in the same group.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from lookup_events.errors import QueryTimedOut
from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.protocols import PageRequest, SearchQuery
from lookup_events.store.structured import StructuredQuery, parse_filter
from tests.bench.annotation_facets import HEADER, Timing, group_table
from tests.bench.kept import kept_groups
from tests.bench.seeding import BACKENDS, SeededGroup, seeded_groups
from tests.bench.synthetic import BASE_URIS, EPOCH_START, Corpus

USERNAME = "bench-user"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PAGE = PageRequest(1, 10)
MONTH = 30 * 24 * 3600

Operation = Callable[[Stores], Any]


def _structured(document: dict[str, Any]) -> Operation:
    query = StructuredQuery(BASE_URIS, parse_filter(document))
    return lambda stores: stores.datasets.structured_search(query, PAGE)


START = int(EPOCH_START) + 12 * MONTH
OPERATIONS: tuple[tuple[str, Operation], ...] = (
    (
        "plain search (page 1 of 10, total)",
        lambda s: s.datasets.search(SearchQuery(BASE_URIS), PAGE),
    ),
    ("annotations.status == needs-review", _structured({"annotations.status": "needs-review"})),
    (
        "readme.creation_date in one month",
        _structured({"readme.creation_date": {"$gte": START, "$lt": START + MONTH}}),
    ),
    (
        "tags $in [microscopy, sequencing]",
        _structured({"tags": {"$in": ["microscopy", "sequencing"]}}),
    ),
    (
        "needs-review and tag microscopy",
        _structured({"annotations.status": "needs-review", "tags": "microscopy"}),
    ),
    (
        "needs-review or tag microscopy",
        _structured({"$or": [{"annotations.status": "needs-review"}, {"tags": "microscopy"}]}),
    ),
)


def time_operations(stores: Stores, corpus: Corpus, repeats: int) -> list[Timing]:
    """Time each operation ``repeats`` times, each call after a write (a cache miss)."""
    record = record_from_info(corpus.info(0))
    timings = []
    for name, operation in OPERATIONS:
        seconds, stopped = [], 0
        for _ in range(repeats):
            stores.datasets.upsert(record)  # NOTE(bench): bumps the revision, untimed
            started = time.perf_counter()
            try:
                operation(stores)
            except QueryTimedOut:  # the route's 503: timed up to the budget, and said so
                stopped += 1
            seconds.append(time.perf_counter() - started)
        label = f"{name} ({stopped} of {repeats} stopped by the query budget)" if stopped else name
        timings.append(Timing(label, tuple(seconds)))
    return timings


def run(
    sizes: tuple[int, ...],
    backends: tuple[str, ...],
    repeats: int,
    postgres_url: str,
    keep_in: Path | None = None,
) -> str:
    """Seed, time and return the Markdown table of every backend and size."""
    rows = []
    groups: Iterable[SeededGroup[Corpus]] = (
        seeded_groups(backends, sizes, postgres_url, Corpus, USERNAME)
        if keep_in is None
        else kept_groups(backends, sizes, keep_in, postgres_url, USERNAME)
    )
    for group in groups:
        timings = time_operations(group.stores, group.corpus, repeats)
        rows.append(group_table(group.backend, group.size, timings))
    return "\n".join([HEADER, *rows])


@click.command()
@click.option("--sizes", default="10000,100000", help="Comma-separated dataset counts.")
@click.option("--backends", default=",".join(BACKENDS), help="sqlite and/or postgres.")
@click.option("--repeats", default=15, type=click.IntRange(1, 200), help="Calls per operation.")
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, help="Server for the databases.")
@click.option(
    "--keep-in",
    type=click.Path(path_type=Path),
    help="Use the kept prose-corpus databases in this folder (kept.py), seeding them to the end.",
)
def main(sizes: str, backends: str, repeats: int, postgres_url: str, keep_in: Path | None) -> None:
    """Print the structured-query benchmark table (Markdown) to stdout."""
    sized = tuple(int(size) for size in sizes.split(","))
    print(run(sized, tuple(backends.split(",")), repeats, postgres_url, keep_in))


if __name__ == "__main__":
    main()
