"""Rescan benchmark: a restart's rescan of an unchanged base URI, on disk and on S3 (moto).

    .venv/bin/python -m tests.bench.rescan_bench      # 100,000 on disk, 2,000 on S3
    .venv/bin/python -m tests.bench.rescan_bench --disk 1000 --s3 50 --changed 10

N small frozen datasets (one item, a tag, an annotation) are made with
dtoolcore and registered by the registrar's own code (``BatchHandler``, real
reader, a SQLite store of their own), so every record carries the stamp the
registrar took. Then, as after a restart (nothing remembered in the process):

1. a rescan of the unchanged base URI: its time, the events it published
   and how many datasets it read (admin metadata read by the rescan; on S3
   also the GET/HEAD requests the client sent, and the listing requests);
2. ``--changed`` datasets get a new README, and the base URI is rescanned:
   the same figures (each changed dataset must be published and read).

The S3 side runs a moto server, whose listing costs grow with the bucket (it
filters every key per request), so it runs at a smaller N; the number of
listing requests is the figure that carries over to real S3. The table goes
to stdout, progress to stderr; no target is asserted.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dtoolcore

from lookup_events.config import Settings
from lookup_events.events import DatasetEvent
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.writer import Registrar
from lookup_events.sources.scan import ReadAdmin, rescan
from lookup_events.storage import list_dataset_stamps, read_admin_metadata, read_dataset
from lookup_events.storage.s3 import Endpoint, S3Clients, S3DatasetReader, new_client
from lookup_events.store import Stores, open_stores, upgrade_database
from tests.bench.registration_bench import machine, memoize_dtoolcore_broker_lookup, progress
from tests.bench.registration_s3 import moto_server
from tests.support.datasets import DatasetFactory

TARGET_S = 60.0
BATCH = 500
_LOCK: list[Path] = []  # --lock: taken around the measured scans only, not the seeding


@contextmanager
def measuring() -> Iterator[None]:
    """Hold the exclusive benchmark lock (``--lock``) while the block measures."""
    if not _LOCK:
        yield
        return
    with _LOCK[0].open("a") as lock:
        progress(f"waiting for {_LOCK[0]}")
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass(frozen=True)
class ScanRun:
    """One rescan: what it found and what it cost."""

    storage: str
    size: int
    phase: str
    seconds: float
    published: int
    read: int
    requests: str = ""


class Counted:
    """A reader (admin metadata) that counts the datasets it reads."""

    def __init__(self, read: ReadAdmin) -> None:
        self.read = read
        self.count = 0

    def __call__(self, uri: str) -> Any:
        self.count += 1
        return self.read(uri)


class CountingClients:
    """Makes real S3 clients and counts their requests by operation."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, endpoint: Endpoint) -> Any:
        client = new_client(endpoint)
        client.meta.events.register("before-call.s3", self._count)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.counts[model.name] = self.counts.get(model.name, 0) + 1

    def taken(self) -> dict[str, int]:
        """Return and reset the counts."""
        counts, self.counts = self.counts, {}
        return counts


def open_store(root: Path, base_uri: str) -> Stores:
    """Return fresh migrated SQLite stores with ``base_uri`` registered."""
    url = f"sqlite:///{root / 'lookup.db'}"
    upgrade_database(url)
    stores = open_stores(Settings(data_dir=root, database_url=url).completed())
    stores.admin.add_base_uri(base_uri)
    return stores


def register(stores: Stores, uris: Sequence[str], reader: Callable[[str], Any]) -> None:
    """Register every dataset through the registrar's batch path."""
    handler = BatchHandler(Registrar(stores.admin, stores.datasets, reader))
    start = time.perf_counter()
    for offset in range(0, len(uris), BATCH):
        chunk = uris[offset : offset + BATCH]
        handler.handle_batch([DatasetEvent.create("frozen", uri, "bench") for uri in chunk])
    progress(f"registered {len(uris):,} in {time.perf_counter() - start:.1f} s")


@dataclass(frozen=True)
class Subject:
    """A registered base URI to rescan, and how to change it and to count its reads."""

    storage: str
    stores: Stores
    base_uri: str
    change: Callable[[], int]
    lister: Callable[[str], Any]
    read_admin: ReadAdmin
    requests: Callable[[], str] = lambda: ""


def scan_twice(subject: Subject) -> list[ScanRun]:
    """Rescan the unchanged base URI, change some datasets, rescan again."""
    size = len(subject.stores.datasets.stamps_by_uri(subject.base_uri))
    with measuring():
        return [_scan(subject, size, phase) for phase in ("unchanged", "changed")]


def _scan(subject: Subject, size: int, phase: str) -> ScanRun:
    changed = subject.change() if phase == "changed" else 0
    subject.requests()
    counted, published = Counted(subject.read_admin), list[DatasetEvent]()
    stored = subject.stores.datasets.stamps_by_uri
    start = time.perf_counter()
    rescan([subject.base_uri], stored, published.append,
           lister=subject.lister, read_admin=counted, seen={})  # fmt: skip
    seconds = time.perf_counter() - start
    label = "unchanged" if not changed else f"{changed:,} changed READMEs"
    progress(f"{subject.storage} {label}: {seconds:.2f} s, {len(published)} published")
    return ScanRun(subject.storage, size, label, seconds, len(published), counted.count,
                   subject.requests())  # fmt: skip


def disk_runs(root: Path, size: int, changed: int) -> list[ScanRun]:
    """Measure on disk."""
    factory = DatasetFactory(root / "base")
    start = time.perf_counter()
    uris = [factory.freeze(f"ds-{n:06d}") for n in range(size)]
    progress(f"created {size:,} disk datasets in {time.perf_counter() - start:.1f} s")
    stores = open_store(root, factory.base_uri)
    register(stores, uris, read_dataset)

    def change() -> int:
        for name in [f"ds-{n:06d}" for n in range(0, size, max(size // changed, 1))][:changed]:
            (factory.base / name / "README.yml").write_text("---\ndescription: changed\n")
        return min(changed, size)

    try:
        subject = Subject("disk", stores, factory.base_uri, change, list_dataset_stamps,
                          read_admin_metadata)  # fmt: skip
        return scan_twice(subject)
    finally:
        stores.close()
        factory.close()


def s3_runs(root: Path, size: int, changed: int) -> list[ScanRun]:
    """Measure on a moto server's bucket."""
    bucket = "rescan-bench"
    with moto_server() as endpoint:
        os.environ.update(
            {
                f"DTOOL_S3_ENDPOINT_{bucket}": endpoint,
                f"DTOOL_S3_ACCESS_KEY_ID_{bucket}": "testing",
                f"DTOOL_S3_SECRET_ACCESS_KEY_{bucket}": "testing",
            }
        )
        clients = CountingClients()
        reader = S3DatasetReader(S3Clients(clients))
        new_client(Endpoint(endpoint, "testing", "testing")).create_bucket(Bucket=bucket)
        root.mkdir(parents=True, exist_ok=True)
        item = root / "item.txt"
        item.write_text("apple")
        start = time.perf_counter()
        uris = [_s3_dataset(bucket, f"ds-{n:05d}", item) for n in range(size)]
        progress(f"created {size:,} S3 datasets in {time.perf_counter() - start:.1f} s")
        stores = open_store(root, f"s3://{bucket}")
        register(stores, uris, reader.read_dataset)

        def change() -> int:
            for uri in uris[:: max(size // changed, 1)][:changed]:
                dtoolcore.DataSet.from_uri(uri).put_readme("---\ndescription: changed\n")
            return min(changed, size)

        def requests() -> str:
            counts = clients.taken()
            reads = counts.get("GetObject", 0) + counts.get("HeadObject", 0)
            return f"{counts.get('ListObjectsV2', 0):,} listings, {reads:,} GET/HEAD"

        try:
            subject = Subject("S3 (moto)", stores, f"s3://{bucket}", change,
                              reader.list_dataset_stamps, reader.read_admin_metadata,
                              requests)  # fmt: skip
            return scan_twice(subject)
        finally:
            stores.close()


def _s3_dataset(bucket: str, name: str, item: Path) -> str:
    proto = dtoolcore.create_proto_dataset(name, f"s3://{bucket}", readme_content="---\n")
    proto.put_item(str(item), "item.txt")
    proto.put_tag("burst")
    proto.put_annotation("number", name)
    proto.freeze()
    return str(proto.uri)


def table(runs: Sequence[ScanRun]) -> str:
    """Return the Markdown table of the runs."""
    lines = [
        "| storage | N | phase | rescan time | datasets/s listed | events published "
        "| datasets read | requests | target |",
        "|---|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for run in runs:
        verdict = "< 60 s at 100,000" if run.storage == "disk" else "none (moto)"
        lines.append(
            f"| {run.storage} | {run.size:,} | {run.phase} | {run.seconds:.2f} s "
            f"| {run.size / run.seconds:,.0f} | {run.published:,} | {run.read:,} "
            f"| {run.requests or '-'} | {verdict} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disk", type=int, default=100_000, help="datasets on disk (0: none)")
    parser.add_argument("--s3", type=int, default=2_000, help="datasets in moto S3 (0: none)")
    parser.add_argument("--changed", type=int, default=100, help="datasets changed")
    parser.add_argument("--output", type=Path, help="Also write the table here.")
    parser.add_argument("--lock", type=Path, help="Hold this file's exclusive flock to measure.")
    args = parser.parse_args(argv)
    _LOCK[:] = [args.lock] if args.lock else []
    memoize_dtoolcore_broker_lookup()  # writes the datasets faster; the product patches nothing
    runs: list[ScanRun] = []
    with tempfile.TemporaryDirectory(prefix="rescan-bench-") as root:
        if args.disk:
            runs += disk_runs(Path(root) / "disk", args.disk, args.changed)
        if args.s3:
            runs += s3_runs(Path(root) / "s3", args.s3, args.changed)
    text = f"Machine: {machine()}\n\n{table(runs)}\n"
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
