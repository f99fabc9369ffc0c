"""Benchmark dependency graphs next to a plain search, in one run.

Run: ``.venv/bin/python -m tests.bench.dependency_graph --sizes 10000,100000
--backends sqlite,postgres``. Each backend and size gets a fresh database
seeded through the real store (``seeding.py``) with the synthetic corpus plus
links: datasets 0..``GRAPH_SIZE``-1 form one tree (dataset ``i`` derives from
``(i - 1) // 3``, alternately through ``readme.derived_from.uuid`` and
``annotations.source_dataset_uuid``), and every other dataset derives from the
one before it unless its index ends in 0 (families of ten). Each operation
runs ``--repeats`` times through the store, in-process; every timed call is a
cache miss (an untimed re-registration before it bumps the store revision).
The table shows p50 and p99 in milliseconds, and p50 as a multiple of the
plain search's p50 measured in the same group.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from lookup_events.model import record_from_info
from lookup_events.store import Stores
from lookup_events.store.dependencies import DEFAULT_KEYS
from lookup_events.store.protocols import GraphQuery, PageRequest, SearchQuery
from tests.bench.kept import kept_groups
from tests.bench.seeding import BACKENDS, seeded_groups
from tests.bench.synthetic import BASE_URIS, FAMILY, GRAPH_SIZE, LinkedCorpus

USERNAME = "bench-user"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PAGE = PageRequest(1, 10)
WHOLE = PageRequest(1, 100)


Operation = Callable[[Stores, LinkedCorpus], Any]


def _graph(
    start: Callable[[LinkedCorpus], int], page: PageRequest, base_uris: tuple[str, ...] = BASE_URIS
) -> Operation:
    """Return an operation asking for the graph around the dataset ``start`` picks."""

    def run(stores: Stores, corpus: LinkedCorpus) -> Any:
        query = GraphQuery(corpus.uuid_of(start(corpus)), DEFAULT_KEYS, base_uris)
        return stores.datasets.dependency_graph(query, page)

    return run


def _root(corpus: LinkedCorpus) -> int:
    return 0


def _leaf(corpus: LinkedCorpus) -> int:
    return corpus.graph_size - 1


def _family_member(corpus: LinkedCorpus) -> int:
    """Return a dataset in the middle of a family of ten (or of the tree if none)."""
    return corpus.graph_size + FAMILY + 5 if corpus.size > corpus.graph_size + 2 * FAMILY else 1


def _plain_search(stores: Stores, corpus: LinkedCorpus) -> Any:
    return stores.datasets.search(SearchQuery(BASE_URIS), PAGE)


OPERATIONS: tuple[tuple[str, Operation], ...] = (
    ("plain search (page 1 of 10, total)", _plain_search),
    ("graph of 1,000 from a leaf (page 1 of 10, total)", _graph(_leaf, PAGE)),
    ("graph of 1,000 from the root (page of 100)", _graph(_root, WHOLE)),
    ("graph of 1,000, 2 of 5 base URIs visible", _graph(_root, PAGE, BASE_URIS[:2])),
    ("graph of 10 (a family)", _graph(_family_member, PAGE)),
)


@dataclass(frozen=True)
class Timing:
    """The timings of one operation in one group, in seconds."""

    name: str
    seconds: tuple[float, ...]

    def percentile_ms(self, percent: int) -> float:
        """Return a percentile of the call times in milliseconds."""
        ordered = sorted(self.seconds)
        rank = max(0, min(len(ordered) - 1, round(percent / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000


def time_operations(stores: Stores, corpus: LinkedCorpus, repeats: int) -> list[Timing]:
    """Time each operation ``repeats`` times, each call after a write (a cache miss)."""
    record = record_from_info(corpus.info(corpus.size - 1))
    timings = []
    for name, operation in OPERATIONS:
        seconds = []
        for _ in range(repeats):
            stores.datasets.upsert(record)  # NOTE(bench): bumps the revision, untimed
            started = time.perf_counter()
            operation(stores, corpus)
            seconds.append(time.perf_counter() - started)
        timings.append(Timing(name, tuple(seconds)))
    return timings


HEADER = (
    "| store | datasets | operation | p50 ms | p99 ms | x plain search (p50) |\n"
    "|---|---:|---|---:|---:|---:|"
)


def group_table(backend: str, size: int, timings: list[Timing]) -> str:
    """Return the Markdown rows of one backend and size."""
    plain = timings[0].percentile_ms(50)
    return "\n".join(
        f"| {backend} | {size:,} | {t.name} | {t.percentile_ms(50):.1f} "
        f"| {t.percentile_ms(99):.1f} | {t.percentile_ms(50) / plain:.2f}x |"
        for t in timings
    )


def run(
    sizes: tuple[int, ...],
    backends: tuple[str, ...],
    repeats: int,
    postgres_url: str,
    *,
    graph_size: int = GRAPH_SIZE,
    keep_in: Path | None = None,
) -> str:
    """Seed, time and return the Markdown table of every backend and size."""
    rows = []

    def corpus(size: int) -> LinkedCorpus:
        return LinkedCorpus(size, graph_size=min(graph_size, size))

    groups = (
        seeded_groups(backends, sizes, postgres_url, corpus, USERNAME)
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
@click.option("--repeats", default=100, type=click.IntRange(1, 1000), help="Calls per operation.")
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, help="Server for the databases.")
@click.option(
    "--keep-in",
    type=click.Path(path_type=Path),
    help="Use the kept prose-corpus databases in this folder (kept.py), seeding them to the end.",
)
def main(sizes: str, backends: str, repeats: int, postgres_url: str, keep_in: Path | None) -> None:
    """Print the dependency-graph benchmark table (Markdown) to stdout."""
    table = run(
        tuple(int(size) for size in sizes.split(",")),
        tuple(backends.split(",")),
        repeats,
        postgres_url,
        keep_in=keep_in,
    )
    print(table)


if __name__ == "__main__":
    main()
