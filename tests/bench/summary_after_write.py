"""Benchmark the summary a user gets right after a registration, at scale.

Run: ``.venv/bin/python -m tests.bench.summary_after_write --sizes 10000,100000
--backends sqlite,postgres [--keep-in /work/bench-data]``. The summary
(``GET /dataset/summary``, ``/me/summary``) is cached until the next write; with
registrations arriving every few seconds at a large institute, nearly every
summary is a first-time one. Each round registers one more dataset, then
times the store's summary over every base URI (first time after the write,
then cached), and, as the baseline in the same run, the two GROUP BY queries
over every dataset that the summary used to run; then deletes the dataset
again (so a kept database keeps its corpus), and times that write too. The
table shows p50 and worst milliseconds over ``--rounds``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, Table, bindparam, create_engine, func, select

from lookup_events.model import record_from_info
from lookup_events.store.protocols import DatasetStore
from lookup_events.store.sql.schema import dataset_tags, datasets
from tests.bench.kept import kept_groups
from tests.bench.prose import ProseCorpus
from tests.bench.seeding import BACKENDS, SeededGroup, seeded_groups
from tests.bench.synthetic import BASE_URIS
from tests.support.data import make_info

USERNAME = "bench-user"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Numbers of the registered datasets: far past any corpus, so never one of its UUIDs.
FIRST_EXTRA = 50_000_000
HEADER = (
    "| backend | datasets | write one, ms p50 | summary after a write, p50 / worst ms "
    "| grouping every dataset, p50 / worst ms | ratio | cached summary, ms |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)


@dataclass(frozen=True)
class Row:
    """One backend and size: milliseconds of each round's steps."""

    backend: str
    size: int
    writes: list[float]
    after_write: list[float]
    grouped: list[float]
    cached: list[float]

    def markdown(self) -> str:
        """Return the row as a Markdown table line."""
        kept, grouped = statistics.median(self.after_write), statistics.median(self.grouped)
        return (
            f"| {self.backend} | {self.size:,} | {statistics.median(self.writes):.1f} | "
            f"{kept:.2f} / {max(self.after_write):.2f} | "
            f"{grouped:.1f} / {max(self.grouped):.1f} | {grouped / kept:.0f} | "
            f"{statistics.median(self.cached):.3f} |"
        )


def _facet(table: Table, *keys: str) -> Any:
    """One of the two GROUP BY queries the summary ran before its counts were kept."""
    size = func.coalesce(func.sum(table.c.size_in_bytes), 0)
    columns = [table.c[key] for key in keys]
    where = table.c.base_uri.in_(bindparam("base_uris", expanding=True))
    return select(*columns, func.count(), size).where(where).group_by(*columns)


GROUPINGS = (_facet(datasets, "base_uri", "creator_username"), _facet(dataset_tags, "tag"))


def measure(group: SeededGroup[ProseCorpus], rounds: int) -> Row:
    """Register and delete a dataset ``rounds`` times; time the summaries after each write."""
    engine = create_engine(group.url)
    row = Row(group.backend, group.size, [], [], [], [])
    try:
        for number in range(FIRST_EXTRA, FIRST_EXTRA + rounds):
            _round(group, engine, number, row)
    finally:
        engine.dispose()
    return row


def _round(group: SeededGroup[ProseCorpus], engine: Engine, number: int, row: Row) -> None:
    """Register dataset ``number``, time the summaries, delete it again, time the summary."""
    store = group.stores.datasets
    record = record_from_info(make_info(number, BASE_URIS[number % len(BASE_URIS)]))
    row.writes.append(_ms(lambda: store.upsert(record)))
    row.after_write.append(_ms(lambda: _expect(store, group.size + 1)))
    row.cached.append(_ms(lambda: store.summary(BASE_URIS)))
    with engine.connect() as conn:
        _group(conn)  # warm
        row.grouped.append(_ms(lambda: _group(conn)))
    row.writes.append(_ms(lambda: store.delete(record.uri)))
    row.after_write.append(_ms(lambda: _expect(store, group.size)))


def _expect(store: DatasetStore, datasets: int) -> None:
    """Summarise every base URI; raise unless the summary counts ``datasets``."""
    found = store.summary(BASE_URIS).number_of_datasets
    if found != datasets:
        raise RuntimeError(f"the summary after a write counts {found}, not {datasets}")


def _group(conn: Any) -> None:
    for grouping in GROUPINGS:
        conn.execute(grouping, {"base_uris": list(BASE_URIS)}).all()


def _ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def groups(
    backends: Sequence[str], sizes: Sequence[int], keep_in: Path | None, postgres_url: str
) -> Iterator[SeededGroup[ProseCorpus]]:
    """Yield kept databases when ``keep_in`` is given, else freshly seeded ones."""
    if keep_in is not None:
        yield from kept_groups(backends, sizes, keep_in, postgres_url, USERNAME)
    else:
        yield from seeded_groups(backends, sizes, postgres_url, ProseCorpus, USERNAME)


def run(
    backends: Sequence[str], sizes: Sequence[int], rounds: int, keep_in: Path | None,
    postgres_url: str,
) -> str:  # fmt: skip
    """Measure every backend and size; return the Markdown table."""
    rows = []
    for group in groups(backends, sizes, keep_in, postgres_url):
        rows.append(measure(group, rounds))
        print(rows[-1].markdown(), file=sys.stderr)
    return "\n".join([HEADER, *(row.markdown() for row in rows)])


@click.command()
@click.option("--sizes", default="10000", show_default=True, help="Datasets, comma-separated.")
@click.option("--backends", default=",".join(BACKENDS), show_default=True)
@click.option("--rounds", default=20, show_default=True, help="Datasets registered and deleted.")
@click.option("--keep-in", type=click.Path(path_type=Path), help="Use kept databases here.")
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, show_default=True)
def main(sizes: str, backends: str, rounds: int, keep_in: Path | None, postgres_url: str) -> None:
    """Time the summary right after a registration, against grouping every dataset."""
    chosen = tuple(name for name in backends.split(",") if name)
    sized = tuple(int(size) for size in sizes.split(",") if size)
    click.echo(run(chosen, sized, rounds, keep_in, postgres_url))


if __name__ == "__main__":
    main()
