"""Fresh databases for the benchmark, seeded in batches through the real stores."""

from __future__ import annotations

import contextlib
import itertools
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from lookup_events.config import Settings
from lookup_events.model import record_from_info
from lookup_events.store import Stores, open_stores, upgrade_database
from tests.bench.report import SeedResult
from tests.bench.synthetic import BASE_URIS, Corpus
from tests.support.postgres import libpq_dsn

BATCH_SIZE = 1000
BACKENDS = ("sqlite", "postgres")

CorpusT = TypeVar("CorpusT", bound=Corpus)


@dataclass(frozen=True)
class SeededGroup(Generic[CorpusT]):
    """One backend and size of a benchmark: its corpus, seeded, and stores open on it."""

    backend: str
    size: int
    corpus: CorpusT
    stores: Stores
    url: str = ""  # the database's


def seeded_groups(
    backends: Sequence[str],
    sizes: Sequence[int],
    postgres_url: str,
    make_corpus: Callable[[int], CorpusT],
    username: str,
) -> Iterator[SeededGroup[CorpusT]]:
    """Yield each backend and size seeded in a fresh database, dropped when the next is asked."""
    for backend in backends:
        for size in sizes:
            with tempfile.TemporaryDirectory() as folder:
                workdir = Path(folder)
                with temporary_database(backend, workdir, postgres_url) as url:
                    corpus = make_corpus(size)
                    print(f"seeding {size:,} on {backend}", file=sys.stderr)
                    seeded = seed(url, workdir, corpus, username)
                    print(f"seeded in {seeded.seconds:.0f} s", file=sys.stderr)
                    stores = open_stores(Settings(data_dir=workdir, database_url=url).completed())
                    try:
                        yield SeededGroup(backend, size, corpus, stores, url)
                    finally:
                        stores.close()


@contextlib.contextmanager
def temporary_database(backend: str, workdir: Path, postgres_url: str) -> Iterator[str]:
    """Yield the URL of a new empty database; a PostgreSQL one is dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin_dsn = libpq_dsn(postgres_url)
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        database = make_url(postgres_url).set(drivername="postgresql+psycopg", database=name)
        yield database.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(name)))


def seed(
    database_url: str, data_dir: Path, corpus: Corpus, username: str, batch_size: int = BATCH_SIZE
) -> SeedResult:
    """Migrate, add ``username`` with search rights on every base URI, upsert the corpus."""
    upgrade_database(database_url)
    stores = open_stores(Settings(data_dir=data_dir, database_url=database_url).completed())
    try:
        stores.admin.add_user(username)
        for base_uri in BASE_URIS:
            stores.admin.add_base_uri(base_uri)
            stores.admin.grant(username, base_uri, "search")
        started = time.perf_counter()
        store_seconds = 0.0
        infos = corpus.infos()
        while batch := list(itertools.islice(infos, batch_size)):
            records = [record_from_info(info) for info in batch]
            began = time.perf_counter()
            stores.datasets.upsert_many(records)
            store_seconds += time.perf_counter() - began
        seeded = SeedResult(corpus.size, time.perf_counter() - started, store_seconds)
    finally:
        stores.close()
    settle(database_url)
    return seeded


def settle(database_url: str) -> None:
    """Bring a freshly loaded PostgreSQL database to the state autovacuum keeps it in.

    A server with default settings vacuums and analyses a table soon after
    a bulk load (visibility map, hint bits, the GIN index's pending list
    merged); this machine's server runs with autovacuum off, so the
    benchmark does it, and measures a database in its steady state. A
    checkpoint then writes the pages the load and the vacuum dirtied, which
    the server would otherwise write while the first endpoints are loaded.
    """
    if make_url(database_url).get_backend_name() != "postgresql":
        return
    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        connection.execute("CHECKPOINT")
