"""Benchmark the summary and annotation facets a user gets right after a registration.

Run: ``.venv/bin/python -m tests.bench.facets_after_write --sizes 10000,100000
--backends sqlite,postgres [--keep-in /work/bench-data]``. The summary
(``GET /dataset/summary``) and the annotation facets of a search page's first
view (``/annotation_filter_plugin/annotation_keys`` and ``annotation_values``
with no filter) are cached until the next write; with registrations arriving
every few seconds at a large institute, nearly every such answer is a
first-time one. Each round registers one more dataset, then times each view
through the store (the first call after the write) and, as the baseline in
the same run, the ``GROUP BY`` queries over every dataset that the view ran
before its counts were kept; then deletes the dataset again (so a kept
database keeps its corpus), and times the summary after that write too. The
benchmark raises if an answer after a write misses the change. The table
shows p50 and worst milliseconds over ``--rounds``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, func, select

from lookup_events.model import record_from_info
from lookup_events.store.protocols import DatasetStore, SearchQuery
from lookup_events.store.sql.schema import dataset_annotations, dataset_tags, datasets
from tests.bench.kept import kept_groups
from tests.bench.prose import ProseCorpus
from tests.bench.seeding import BACKENDS, SeededGroup, seeded_groups
from tests.bench.synthetic import BASE_URIS
from tests.support.data import make_info

USERNAME = "bench-user"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Numbers of the registered datasets: far past any corpus, so never one of its UUIDs.
FIRST_EXTRA = 50_000_000
# The registered dataset's own annotation key (make_info), which no corpus dataset holds.
MARK = "group"
EVERY = SearchQuery(BASE_URIS)
HEADER = (
    "| backend | datasets | view | after a write, p50 / worst ms "
    "| grouping every dataset, p50 / worst ms | ratio | cached, ms |\n"
    "|---|---:|---|---:|---:|---:|---:|"
)


def _facet(table: Table, *keys: str) -> Any:
    """One of the two GROUP BY queries the summary ran before its counts were kept."""
    size = func.coalesce(func.sum(table.c.size_in_bytes), 0)
    columns = [table.c[key] for key in keys]
    where = table.c.base_uri.in_(bindparam("base_uris", expanding=True))
    return select(*columns, func.count(), size).where(where).group_by(*columns)


_A = dataset_annotations.c
_IN_BASE_URIS = _A.base_uri.in_(bindparam("base_uris", expanding=True))


@dataclass(frozen=True)
class View:
    """What a user looks at after a write: the store's call and the grouping it replaced."""

    name: str
    call: Callable[[DatasetStore], Any]
    groupings: tuple[Any, ...]


VIEWS = (
    View(
        "summary",
        lambda store: store.summary(BASE_URIS),
        (_facet(datasets, "base_uri", "creator_username"), _facet(dataset_tags, "tag")),
    ),
    View(
        "annotation keys",
        lambda store: store.annotation_keys(EVERY),
        (select(_A.key, func.count()).where(_IN_BASE_URIS).group_by(_A.key),),
    ),
    View(
        "values of status (2)",
        lambda store: store.annotation_values(SearchQuery(BASE_URIS, annotation_keys=("status",))),
        (
            select(_A.key, _A.value, func.count())
            .where(_A.key == "status", _IN_BASE_URIS)
            .group_by(_A.key, _A.value),
        ),
    ),
)


@dataclass(frozen=True)
class Row:
    """One backend, size and view: milliseconds of each round."""

    backend: str
    size: int
    view: str
    after_write: list[float] = field(default_factory=list)
    grouped: list[float] = field(default_factory=list)
    cached: list[float] = field(default_factory=list)

    def markdown(self) -> str:
        """Return the row as a Markdown table line."""
        kept, grouped = statistics.median(self.after_write), statistics.median(self.grouped)
        return (
            f"| {self.backend} | {self.size:,} | {self.view} | "
            f"{kept:.2f} / {max(self.after_write):.2f} | "
            f"{grouped:.1f} / {max(self.grouped):.1f} | {grouped / kept:.0f} | "
            f"{statistics.median(self.cached):.3f} |"
        )


def measure(group: SeededGroup[ProseCorpus], rounds: int) -> list[Row]:
    """Register and delete a dataset ``rounds`` times; time each view after each write."""
    engine = create_engine(group.url)
    rows = [Row(group.backend, group.size, view.name) for view in VIEWS]
    try:
        for number in range(FIRST_EXTRA, FIRST_EXTRA + rounds):
            _round(group, engine, number, rows)
    finally:
        engine.dispose()
    return rows


def _round(group: SeededGroup[ProseCorpus], engine: Engine, number: int, rows: list[Row]) -> None:
    """Register dataset ``number``, time the views, delete it again, time the summary."""
    store = group.stores.datasets
    record = record_from_info(make_info(number, BASE_URIS[number % len(BASE_URIS)]))
    store.upsert(record)
    for view, row in zip(VIEWS, rows, strict=True):
        row.after_write.append(_ms(lambda v=view: v.call(store)))
        row.cached.append(_ms(lambda v=view: v.call(store)))
        with engine.connect() as conn:
            _group(conn, view)  # warm
            row.grouped.append(_ms(lambda c=conn, v=view: _group(c, v)))
    _expect(store, group.size + 1, marked=1)
    store.delete(record.uri)
    rows[0].after_write.append(_ms(lambda: _expect(store, group.size, marked=0)))


def _expect(store: DatasetStore, datasets: int, marked: int) -> None:
    """Raise unless the summary counts ``datasets`` and the key facet ``marked`` with MARK."""
    found = store.summary(BASE_URIS).number_of_datasets
    if found != datasets:
        raise RuntimeError(f"the summary after a write counts {found}, not {datasets}")
    holding = store.annotation_keys(EVERY).get(MARK, 0)
    if holding != marked:
        raise RuntimeError(f"the key facet after a write counts {holding} {MARK!r}, not {marked}")


def _group(conn: Connection, view: View) -> None:
    for grouping in view.groupings:
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
    rows: list[Row] = []
    for group in groups(backends, sizes, keep_in, postgres_url):
        measured = measure(group, rounds)
        print("\n".join(row.markdown() for row in measured), file=sys.stderr)
        rows.extend(measured)
    return "\n".join([HEADER, *(row.markdown() for row in rows)])


@click.command()
@click.option("--sizes", default="10000", show_default=True, help="Datasets, comma-separated.")
@click.option("--backends", default=",".join(BACKENDS), show_default=True)
@click.option("--rounds", default=20, show_default=True, help="Datasets registered and deleted.")
@click.option("--keep-in", type=click.Path(path_type=Path), help="Use kept databases here.")
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, show_default=True)
def main(sizes: str, backends: str, rounds: int, keep_in: Path | None, postgres_url: str) -> None:
    """Time the summary and annotation facets right after a registration."""
    chosen = tuple(name for name in backends.split(",") if name)
    sized = tuple(int(size) for size in sizes.split(",") if size)
    click.echo(run(chosen, sized, rounds, keep_in, postgres_url))


if __name__ == "__main__":
    main()
