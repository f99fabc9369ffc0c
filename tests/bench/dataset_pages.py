"""Benchmark what a dataset's page asks for, on a dataset of many items and of three.

Run: ``.venv/bin/python -m tests.bench.dataset_pages --items 10000
--backends sqlite,postgres``. A GUI or the web app showing one dataset asks
for its entry, README, annotations, tags and manifest (``GET /uris/<uri>``,
``/readmes/<uri>``...). Each backend gets a fresh database holding two
datasets registered through the store: one of ``--items`` manifest items and
one of three. Every route is called in-process through the WSGI app (the
routes have no answer cache), ``--repeats`` rounds of ten calls, and the table
shows the best round's milliseconds a call and the large dataset's time as a
multiple of the small one's in the same run. Only the manifest should grow
with the items; the other routes should cost the same on both.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import click
from falcon import testing

from lookup_events.config import Settings
from lookup_events.model import DatasetRecord, record_from_info
from lookup_events.store import Stores, open_stores, upgrade_database
from lookup_events.tokens import issue_token
from tests.bench.seeding import BACKENDS, temporary_database
from tests.support.api import client_for, key_pair
from tests.support.data import make_info

USERNAME = "bench-user"
BASE_URI = "s3://bench-pages"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ROUTES = ("uris", "readmes", "annotations", "tags", "manifests")
CALLS = 10
HEADER = (
    "| backend | route | 3 items, ms | {items:,} items, ms | ratio | body bytes |\n"
    "|---|---|---:|---:|---:|---:|"
)


@dataclass(frozen=True)
class Row:
    """One route on one backend: best milliseconds a call, small and large dataset."""

    backend: str
    route: str
    small_ms: float
    large_ms: float
    large_bytes: int

    def markdown(self) -> str:
        """Return the row as a Markdown table line."""
        ratio = self.large_ms / self.small_ms
        return (
            f"| {self.backend} | `GET /{self.route}/<uri>` | {self.small_ms:.2f} | "
            f"{self.large_ms:.2f} | {ratio:.1f}x | {self.large_bytes:,} |"
        )


def run(items: int, backends: tuple[str, ...], repeats: int, postgres_url: str) -> str:
    """Measure every route on every backend; return the Markdown table."""
    rows: list[Row] = []
    for backend in backends:
        rows.extend(measure_backend(backend, items, repeats, postgres_url))
    return "\n".join([HEADER.format(items=items), *(row.markdown() for row in rows)])


def measure_backend(backend: str, items: int, repeats: int, postgres_url: str) -> list[Row]:
    """Register a small and a large dataset in a new database; time each route on both."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pages-")))
        url = stack.enter_context(temporary_database(backend, workdir, postgres_url))
        stores = stack.enter_context(_stores(url, workdir))
        small, large = (_register(stores, number, size) for number, size in ((1, 3), (2, items)))
        keys = key_pair()
        client = client_for(Settings(data_dir=workdir, jwt_public_key=keys.public_pem), stores)
        headers = {"Authorization": f"Bearer {issue_token(keys.private_pem, USERNAME)}"}
        return [
            Row(
                backend,
                route,
                _best_ms(client, f"/{route}/{_in_path(small)}", headers, repeats),
                _best_ms(client, f"/{route}/{_in_path(large)}", headers, repeats),
                len(client.simulate_get(f"/{route}/{_in_path(large)}", headers=headers).content),
            )
            for route in ROUTES
        ]


@contextlib.contextmanager
def _stores(url: str, workdir: Path) -> Iterator[Stores]:
    """Yield migrated stores on ``url`` with the benchmark's user; close them after."""
    upgrade_database(url)
    opened = open_stores(Settings(data_dir=workdir, database_url=url).completed())
    try:
        opened.admin.add_user(USERNAME)
        opened.admin.add_base_uri(BASE_URI)
        opened.admin.grant(USERNAME, BASE_URI, "search")
        yield opened
    finally:
        opened.close()


def _register(stores: Stores, number: int, items: int) -> DatasetRecord:
    record = record_from_info(make_info(number, BASE_URI, items=items))
    stores.datasets.upsert(record)
    return record


def _in_path(record: DatasetRecord) -> str:
    """The dataset URI as a URL suffix: ``s3/bucket/uuid``."""
    return record.uri.replace("://", "/", 1)


def _best_ms(
    client: testing.TestClient, path: str, headers: dict[str, str], repeats: int
) -> float:
    answer = client.simulate_get(path, headers=headers)
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path} answered {answer.status}: {answer.text[:200]}")
    return min(_round(client, path, headers) for _ in range(repeats)) * 1000


def _round(client: testing.TestClient, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    for _ in range(CALLS):
        client.simulate_get(path, headers=headers)
    return (time.perf_counter() - started) / CALLS


@click.command()
@click.option("--items", default=10_000, show_default=True, help="Items of the large dataset.")
@click.option("--backends", default=",".join(BACKENDS), show_default=True)
@click.option("--repeats", default=5, show_default=True, help="Rounds of ten calls a route.")
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, show_default=True)
def main(items: int, backends: str, repeats: int, postgres_url: str) -> None:
    """Time a dataset page's routes on a dataset of many items and of three."""
    chosen = tuple(name for name in backends.split(",") if name)
    click.echo(run(items, chosen, repeats, postgres_url))


if __name__ == "__main__":
    main()
