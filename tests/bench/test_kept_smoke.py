"""The kept databases' seeder, at a tiny size: resumable, and the registrar's rows exactly."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from lookup_events.config import Settings
from lookup_events.registrar.writer import Registrar
from lookup_events.store import open_stores, upgrade_database
from lookup_events.store.sql.schema import Base
from tests.bench.db_size import postgres_sizes, size_rows, sqlite_sizes
from tests.bench.kept import drop_kept, kept_database, seed_kept
from tests.bench.prose import ProseCorpus
from tests.bench.seeding import temporary_database
from tests.bench.synthetic import BASE_URIS
from tests.support.postgres import DEFAULT_POSTGRES_URL

pytestmark = pytest.mark.slow

SIZE = 20
USERNAME = "bench-user"
# Columns that differ between any two writes of the same data: a timestamp, a counter.
VOLATILE = {("audit_entries", "at"), ("revisions", "value")}
# A dependency component's label is whichever UUID the larger side had when two components met,
# so it depends on the order of writes: compared as the component's smallest UUID instead.
LABELLED = ("dataset_dependencies", "component")

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table of the models, volatile columns left out."""
    engine = create_engine(url)
    found = {}
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
                rows = [row._asdict() for row in conn.execute(select(*columns))]
                if table.name == LABELLED[0]:
                    _canonical_components(rows)
                found[table.name] = sorted(tuple(map(repr, row.values())) for row in rows)
    finally:
        engine.dispose()
    return found


def _canonical_components(rows: list[dict[str, Any]]) -> None:
    """Relabel each dependency row's component by the smallest UUID in that component."""
    smallest: dict[str, str] = {}
    for row in rows:
        label = row[LABELLED[1]]
        smallest[label] = min(smallest.get(label, row["uuid"]), row["uuid"])
    for row in rows:
        row[LABELLED[1]] = smallest[row[LABELLED[1]]]


def _registered_one_by_one(url: str, data_dir: Path, corpus: ProseCorpus) -> None:
    """Write ``corpus`` as the registrar does for events, one dataset at a time."""
    upgrade_database(url)
    stores = open_stores(Settings(data_dir=data_dir, database_url=url).completed())
    try:
        stores.admin.add_user(USERNAME)
        for base_uri in BASE_URIS:
            stores.admin.add_base_uri(base_uri)
            stores.admin.grant(USERNAME, base_uri, "search")
        registrar = Registrar(stores.admin, stores.datasets)
        for info in corpus.infos():
            registrar.register_info(info)
    finally:
        stores.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_seeding_in_two_runs_ends_in_the_registrars_rows(backend: str, tmp_path: Path) -> None:
    corpus = ProseCorpus(SIZE, seed=random.randrange(10**9), graph_size=10)
    kept = kept_database(backend, corpus, tmp_path / "kept", DEFAULT_POSTGRES_URL)
    try:
        first = seed_kept(kept, tmp_path, corpus, USERNAME, stop_after=8)
        assert first.seconds > 0 and not kept.logged()["settled"]
        seed_kept(kept, tmp_path, corpus, USERNAME)
        assert kept.logged()["settled"] > 0
        with temporary_database(backend, tmp_path, DEFAULT_POSTGRES_URL) as url:
            _registered_one_by_one(url, tmp_path, corpus)
            expected = _rows(url)
        seeded = _rows(kept.url)
        sizes = _sizes(backend, kept.url)
    finally:
        drop_kept(kept, DEFAULT_POSTGRES_URL)

    assert len(seeded["datasets"]) == SIZE
    assert seeded == expected
    assert {"datasets", "dataset_fields", "ix_datasets_uuid"} <= set(sizes)
    assert size_rows(backend, SIZE, sizes, top=3)[0].startswith(f"| {backend} | 20 | **total** |")


def _sizes(backend: str, url: str) -> dict[str, int]:
    if backend == "sqlite":
        return sqlite_sizes(str(make_url(url).database))
    return postgres_sizes(url)


def test_the_prose_corpus_draws_common_words_first_and_links_datasets() -> None:
    corpus = ProseCorpus(40, graph_size=10)
    readmes = " ".join(corpus.info(index)["readme"] for index in range(40)).lower().split()
    assert readmes.count("the") > readmes.count("genome") > 0
    assert corpus.info(4)["annotations"]["source_dataset_uuid"] == corpus.uuid_of(1)
    assert corpus.info(7) == ProseCorpus(40, graph_size=10).info(7)
