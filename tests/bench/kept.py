"""Databases kept between benchmark runs, named by corpus size and seed, seeded resumably.

A million datasets take longer to seed than one benchmark session should
hold a lock, so a kept database is seeded in as many runs as it takes:
each run counts the datasets already there and continues with the next
index of the corpus (batches commit whole and in index order, so the count
is the next index). The time spent so far is kept beside the database in a
JSON file, and a database is settled (``seeding.settle``) once, when full.

Run: ``.venv/bin/python -m tests.bench.kept --size 1000000 --backends sqlite,postgres
--folder /work/bench-data [--stop-after N]``; ``--drop`` deletes them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import psycopg
from psycopg import sql
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from lookup_events.config import Settings
from lookup_events.model import record_from_info
from lookup_events.store import Stores, open_stores, upgrade_database
from lookup_events.store.sql.schema import datasets
from tests.bench.prose import ProseCorpus
from tests.bench.report import SeedResult
from tests.bench.seeding import BACKENDS, SeededGroup, settle
from tests.bench.synthetic import BASE_URIS, Corpus
from tests.support.postgres import libpq_dsn

BATCH_SIZE = 2000
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class KeptDatabase:
    """Where one kept database lives, and the JSON file of its seeding time."""

    backend: str
    url: str
    log: Path

    def logged(self) -> dict[str, float]:
        """Return what the log says: seconds so far, store seconds, settled."""
        if not self.log.exists():
            return {"seconds": 0.0, "store_seconds": 0.0, "settled": 0.0}
        return dict(json.loads(self.log.read_text()))

    def write_log(self, logged: dict[str, float]) -> None:
        """Replace the log with ``logged``."""
        self.log.write_text(json.dumps(logged))


def kept_database(
    backend: str, corpus: Corpus, folder: Path, postgres_url: str = DEFAULT_POSTGRES_URL
) -> KeptDatabase:
    """Return the kept database of ``corpus`` on ``backend``, creating it if missing."""
    stem = f"{type(corpus).__name__.lower()}-{corpus.size}-{corpus.seed}"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{stem}-{backend}.json"
    if backend == "sqlite":
        return KeptDatabase(backend, f"sqlite:///{folder / stem}.db", log)
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    name = "bench_" + stem.replace("-", "_")
    with psycopg.connect(libpq_dsn(postgres_url), autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if found.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(postgres_url).set(drivername="postgresql+psycopg", database=name)
    return KeptDatabase(backend, url.render_as_string(hide_password=False), log)


def drop_kept(kept: KeptDatabase, postgres_url: str = DEFAULT_POSTGRES_URL) -> None:
    """Delete a kept database and its log."""
    kept.log.unlink(missing_ok=True)
    parsed = make_url(kept.url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    with psycopg.connect(libpq_dsn(postgres_url), autocommit=True) as connection:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        connection.execute(drop.format(sql.Identifier(parsed.database or "")))


def seed_kept(
    kept: KeptDatabase,
    data_dir: Path,
    corpus: Corpus,
    username: str,
    *,
    stop_after: int | None = None,
    progress: Progress = lambda message: None,
) -> SeedResult:
    """Seed ``corpus`` into ``kept`` from where it stopped; return the time of every run.

    ``stop_after`` bounds the datasets this call adds. A full database is
    settled once; the returned seconds add up every run's.
    """
    upgrade_database(kept.url)
    stores = open_stores(Settings(data_dir=data_dir, database_url=kept.url).completed())
    logged = kept.logged()
    try:
        _add_user(stores, username)
        present = _count(kept.url)
        end = corpus.size if stop_after is None else min(corpus.size, present + stop_after)
        progress(f"{kept.backend}: {present:,} of {corpus.size:,} present, seeding to {end:,}")
        for start in range(present, end, BATCH_SIZE):
            began = time.perf_counter()
            indices = range(start, min(end, start + BATCH_SIZE))
            batch = [record_from_info(corpus.info(index)) for index in indices]
            stored = time.perf_counter()
            stores.datasets.upsert_many(batch)
            logged["store_seconds"] += time.perf_counter() - stored
            logged["seconds"] += time.perf_counter() - began
            kept.write_log(logged)
            if (start // BATCH_SIZE) % 25 == 0:
                progress(f"{kept.backend}: {start + len(batch):,} ({logged['seconds']:.0f} s)")
        complete = _count(kept.url) >= corpus.size
    finally:
        stores.close()
    if complete and not logged["settled"]:
        began = time.perf_counter()
        settle(kept.url)
        logged["settled"] = time.perf_counter() - began
        kept.write_log(logged)
    return SeedResult(corpus.size, logged["seconds"], logged["store_seconds"])


def kept_groups(
    backends: Sequence[str], sizes: Sequence[int], folder: Path, postgres_url: str, username: str
) -> Iterator[SeededGroup[ProseCorpus]]:
    """Yield each backend and size's kept prose database, seeded to the end and open."""
    for backend in backends:
        for size in sizes:
            corpus = ProseCorpus(size)
            kept = kept_database(backend, corpus, folder, postgres_url)
            seed_kept(kept, folder, corpus, username, progress=_echo)
            stores = open_stores(Settings(data_dir=folder, database_url=kept.url).completed())
            try:
                yield SeededGroup(backend, size, corpus, stores, kept.url)
            finally:
                stores.close()


def _add_user(stores: Stores, username: str) -> None:
    """Add ``username`` with search rights on every base URI, unless already there."""
    if stores.admin.get_user(username) is not None:
        return
    stores.admin.add_user(username)
    for base_uri in BASE_URIS:
        stores.admin.add_base_uri(base_uri)
        stores.admin.grant(username, base_uri, "search")


def _count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(datasets)).scalar_one())
    finally:
        engine.dispose()


@click.command()
@click.option("--size", default=1_000_000, show_default=True, help="Datasets in the corpus.")
@click.option("--seed", default=2026, show_default=True, help="Seed of the corpus.")
@click.option("--backends", default=",".join(BACKENDS), help="sqlite and/or postgres.")
@click.option("--folder", type=click.Path(path_type=Path), required=True)
@click.option("--stop-after", type=int, help="Add at most this many datasets in this run.")
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, show_default=True)
@click.option("--drop", is_flag=True, help="Delete the kept databases instead.")
def main(
    *,
    size: int,
    seed: int,
    backends: str,
    folder: Path,
    stop_after: int | None,
    postgres_url: str,
    drop: bool,
) -> None:
    """Seed (or drop) the kept prose-corpus databases of one size."""
    corpus = ProseCorpus(size, seed)
    for backend in backends.split(","):
        kept = kept_database(backend, corpus, folder, postgres_url)
        if drop:
            drop_kept(kept, postgres_url)
            continue
        seeded = seed_kept(
            kept, folder, corpus, "bench-user", stop_after=stop_after, progress=_echo
        )
        click.echo(
            f"{backend}: {seeded.seconds:.0f} s so far ({seeded.store_seconds:.0f} s store)"
        )


def _echo(message: str) -> None:
    click.echo(message, err=True)


if __name__ == "__main__":
    sys.exit(main())
