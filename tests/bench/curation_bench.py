"""Curation and signed downloads, timed in-process against baselines of the same run.

Rows (each a median over ``--repeat`` runs, on one embedded SQLite deployment and one
real disk dataset made with dtoolcore):

- ``read tags`` (``GET /tags/<uri>``): the baseline of the curation rows;
- ``add one tag`` (``POST /tags/<uri>/<tag>``) and ``replace README`` (``PUT
  /readmes/<uri>``): written to the dataset with dtoolcore, then re-registered;
- ``read file directly``: the item read in 64 KiB blocks, the baseline of the next row;
- ``download via signed link``: the same item through ``/signed-urls/content/<token>``,
  the WSGI body iterated as a server would; ``peak MiB`` is the most Python memory
  allocated meanwhile (``tracemalloc``), which shows the item is never held whole.

    .venv/bin/python -m tests.bench.curation_bench [--size-mib 256] [--repeat 5]
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import click
import dtoolcore.utils
from falcon import testing

from lookup_api.app import create_app
from lookup_events.config import Settings
from lookup_events.registrar.writer import Registrar
from lookup_events.storage.content import DatasetContent
from lookup_events.store import open_stores, upgrade_database
from lookup_events.tokens import issue_token
from tests.support.api import key_pair
from tests.support.datasets import make_dataset

BLOCK = 64 * 1024


def run(size_mib: int, repeat: int) -> str:
    """Return the benchmark's table for an item of ``size_mib`` MiB."""
    with tempfile.TemporaryDirectory() as scratch:
        bench = _Bench(Path(scratch), size_mib)
        rows = bench.rows(repeat)
    return _table(rows)


class _Bench:
    """One deployment, one dataset, one user who may curate it."""

    def __init__(self, scratch: Path, size_mib: int) -> None:
        self.size = size_mib * 1024 * 1024
        keys = key_pair()
        settings = Settings(data_dir=scratch, jwt_public_key=keys.public_pem).completed()
        settings = dataclasses.replace(settings, signed_url_secret="bench secret")
        upgrade_database(settings.database_url)
        stores = open_stores(settings)
        self.uri = make_dataset(scratch / "base", "big", items={"big.bin": b"\0"})
        self.item = Path(urlsplit(self.uri).path) / "data" / "big.bin"
        with self.item.open("wb") as handle:  # a sparse file: no time spent writing it
            handle.truncate(self.size)
        stores.admin.add_user("bench", False)
        base_uri = self.uri.rsplit("/", 1)[0]
        stores.admin.add_base_uri(base_uri)
        stores.admin.set_permissions(base_uri, search=["bench"], register=["bench"])
        Registrar(stores.admin, stores.datasets).register_uri(self.uri)
        self.app = create_app(settings, stores, content=DatasetContent())
        self.client = testing.TestClient(self.app)
        token = issue_token(keys.private_pem, "bench", expires_in=None)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.path = quote(self.uri, safe="")

    def rows(self, repeat: int) -> list[tuple[str, float, float | None, float | None]]:
        """Return ``(name, median ms, ratio to its baseline, peak MiB)`` rows."""
        tags = _median(repeat, lambda _: self._ok("GET", f"/tags/{self.path}"))
        add = _median(repeat, lambda i: self._ok("POST", f"/tags/{self.path}/t{i}"))
        readme = _median(repeat, self._put_readme)
        direct = _median(repeat, lambda _: self._read_directly())
        link = self._link()
        tracemalloc.start()
        download = _median(repeat, lambda _: self._download(link))
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        return [
            ("read tags (GET /tags)", tags, 1.0, None),
            ("add one tag (POST /tags/<uri>/<tag>)", add, add / tags, None),
            ("replace README (PUT /readmes)", readme, readme / tags, None),
            (f"read {self.size // 2**20} MiB file directly", direct, 1.0, None),
            ("download via signed link", download, download / direct, peak),
        ]

    def _ok(self, method: str, path: str, **extra: Any) -> None:
        reply = self.client.simulate_request(method, path, headers=self.headers, **extra)
        assert reply.status_code == 200, reply.text

    def _put_readme(self, i: int) -> None:
        self._ok("PUT", f"/readmes/{self.path}", json={"readme": f"---\nrun: {i}\n"})

    def _read_directly(self) -> None:
        with self.item.open("rb") as handle:
            while handle.read(BLOCK):
                pass

    def _link(self) -> str:
        identifier = dtoolcore.utils.generate_identifier("big.bin")
        reply = self.client.simulate_get(
            f"/signed-urls/item/{self.path}/{identifier}", headers=self.headers
        )
        return urlsplit(reply.json["url"]).path

    def _download(self, path: str) -> None:
        environ = testing.create_environ(path=path)
        received = sum(len(chunk) for chunk in self.app(environ, lambda *_: None))
        assert received == self.size


def _median(repeat: int, action: Callable[[int], None]) -> float:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _table(rows: list[tuple[str, float, float | None, float | None]]) -> str:
    lines = ["| operation | median ms | x baseline | peak MiB |", "|---|---:|---:|---:|"]
    for name, ms, ratio, peak in rows:
        peak_text = f"{peak:.2f}" if peak is not None else ""
        lines.append(f"| {name} | {ms:.1f} | {ratio:.2f}x | {peak_text} |")
    return "\n".join(lines)


@click.command()
@click.option("--size-mib", default=256, show_default=True, help="Size of the downloaded item.")
@click.option("--repeat", default=5, show_default=True, help="Runs per row (median).")
def main(size_mib: int, repeat: int) -> None:
    """Print the curation and signed-download table."""
    click.echo(run(size_mib, repeat))


if __name__ == "__main__":
    main()
