"""Registration benchmark: throughput through RabbitMQ, freeze-to-search latency, memory.

    .venv/bin/python -m tests.bench.registration_bench            # 1,000 and 10,000 datasets
    .venv/bin/python -m tests.bench.registration_bench --sizes 200 --registrars 1 \\
        --watch-samples 5 --s3-samples 3 [--registrar-options "--batch-size 50"] \\
        [--output table.md] [--json raw.json]

Everything runs on 127.0.0.1, each measurement with a RabbitMQ virtual host and
a SQLite store of its own and ``dtool-lookup`` commands as child processes. The
table goes to stdout, progress to stderr; no target is asserted anywhere.

(a) Throughput. N small frozen datasets (one item, a tag, an annotation) are
made with dtoolcore, plus 100 more in another base URI. K ``registrar
--no-rescan`` processes start and register the 100 (warm-up). Then they are
paused (SIGSTOP), N ``frozen`` events are published, and the clock runs from
resuming them (SIGCONT) until the store holds all N: the registrars' work
alone, not the publishing. The floor is a plain loop reading the same N
datasets with dtoolcore (``DataSet.from_uri``, README, manifest, annotations,
tags; broker lookup memoized), without storing, measured just before and just
after the run; the table shows their mean (the datasets are read once, untimed,
before the first measurement of a size, so that no floor reads cold files).
CPU seconds of the registrars go to the progress lines.
(b) Latency: from ``freeze()`` returning to a free-text search of the store
returning the dataset (polled every 2 ms), one dataset at a time. Watcher path:
``watch`` → RabbitMQ → ``registrar``. S3 path: a moto server's bucket notifying
SQS (suffix filter ``/dtool``) → ``s3-events`` → RabbitMQ → ``registrar``
reading the dataset back from moto with ``lookup_events.storage.s3``.
(c) Memory: the resident set of the single registrar of the largest size when
idle, after a tenth of the events (at most 1,000) and after all of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import platform
import secrets
import shlex
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import dtoolcore

from lookup_events.config import Settings
from lookup_events.events import DatasetEvent
from lookup_events.queue.event_queue import EventQueue
from lookup_events.store import Stores, open_stores, upgrade_database
from lookup_events.store.protocols import PageRequest, SearchQuery
from tests.bench.registration_report import (
    WATCH_P50_TARGET_S,
    Latency,
    Memory,
    Report,
    Throughput,
    table,
)
from tests.bench.registration_s3 import moto_server, notified_bucket
from tests.support.datasets import DatasetFactory
from tests.support.processes import LookupProcess, process_env, wait_until
from tests.support.rabbitmq import RabbitVhost

TIMEOUT_S = 600.0
WARMUP = 100
CONNECTED = "connected to the event queue"


def progress(message: str) -> None:
    """Print a progress line to stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def memoize_dtoolcore_broker_lookup() -> None:
    """Cache dtoolcore's storage-broker lookup in this process (idempotent).

    NOTE(dev): this defines "the dtoolcore read floor" (DESIGN.md, "Measured
    facts"): dtoolcore scans every installed entry point three times per
    ``DataSet.from_uri``, and the floor is dtoolcore without that scan. It
    patches dtoolcore here, in the benchmark's own process, and nowhere else:
    the product reads through ``lookup_events.storage``, which patches nothing.
    """
    lookup = dtoolcore._generate_storage_broker_lookup
    if not hasattr(lookup, "cache_info"):
        dtoolcore._generate_storage_broker_lookup = functools.lru_cache(maxsize=1)(lookup)


def floor_rate(uris: Sequence[str]) -> float:
    """Read every dataset with plain dtoolcore, broker lookup memoized; return datasets/s."""
    memoize_dtoolcore_broker_lookup()
    start = time.perf_counter()
    for uri in uris:
        dataset = dtoolcore.DataSet.from_uri(uri)
        dataset.get_readme_content()
        _ = dataset._manifest
        for name in dataset.list_annotation_names():
            dataset.get_annotation(name)
        dataset.list_tags()
    return len(uris) / (time.perf_counter() - start)


class Workspace:
    """A directory, a migrated SQLite store and a RabbitMQ virtual host for one measurement."""

    def __init__(self, root: Path, name: str) -> None:
        self.dir = root / name
        self.db_path = self.dir / "lookup.db"
        self.db_url = f"sqlite:///{self.db_path}"
        self.vhost = RabbitVhost()
        self._stack = ExitStack()
        self._reader: sqlite3.Connection | None = None
        self.stores: Stores

    def __enter__(self) -> Workspace:
        self.dir.mkdir(parents=True)
        upgrade_database(self.db_url)
        self._stack.enter_context(self.vhost)
        self.stores = open_stores(
            Settings(data_dir=self.dir, database_url=self.db_url).completed()
        )
        self._stack.callback(self.stores.close)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def env(self, **extra: str) -> dict[str, str]:
        """Return the environment of the measurement's processes."""
        return process_env(
            self.dir / "data",
            DTOOL_LOOKUP_DATABASE_URL=self.db_url,
            DTOOL_LOOKUP_BROKER_URL=self.vhost.url,
            **extra,
        )

    def process(self, args: list[str], **extra: str) -> LookupProcess:
        """Return a (not yet started) ``dtool-lookup`` process of this measurement."""
        log = self.dir / f"{args[0]}-{secrets.token_hex(3)}.log"
        return LookupProcess(args, self.env(**extra), log)

    def count(self) -> int:
        """Return how many datasets the store holds (on a read-only connection).

        Read from the counts every write keeps (``dataset_counts``, 8 µs): polled
        every 5 ms, a ``count(*)`` of 100,000 rows (1.6 ms) took about a quarter
        of a core from the registrars being measured on a 2-core machine.
        """
        if self._reader is None:
            self._reader = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
            self._stack.callback(self._reader.close)
        total = self._reader.execute("SELECT coalesce(sum(datasets), 0) FROM dataset_counts")
        return int(total.fetchone()[0])

    def found(self, base_uri: str, word: str) -> bool:
        """Tell whether a free-text search for ``word`` returns a dataset."""
        query = SearchQuery(base_uris=(base_uri,), free_text=word)
        return bool(self.stores.datasets.search(query, PageRequest(1, 1)).items)


@contextmanager
def running(processes: Sequence[LookupProcess], ready: Callable[[LookupProcess], bool]) -> Any:
    """Start processes, wait until each is ready, stop them all afterwards."""
    with ExitStack() as stack:
        for process in processes:
            stack.enter_context(process)
        for process in processes:
            if not wait_until(lambda p=process: ready(p), 60):
                raise RuntimeError(f"{process.args} did not start: {process.log()[-2000:]}")
        yield
        for process in processes:
            process.stop()


def connected(process: LookupProcess) -> bool:
    """Tell whether a registrar is consuming."""
    return CONNECTED in process.log()


@dataclasses.dataclass(frozen=True)
class Datasets:
    """The datasets of one size, and a few others to warm the registrars up with."""

    uris: list[str]
    base_uri: str
    warmup: list[str]
    warmup_base_uri: str


def registered(space: Workspace, expected: int, on_count: Callable[[int], None]) -> float:
    """Wait until the store holds ``expected`` datasets; return when that was."""
    start = time.perf_counter()
    while (done := space.count()) < expected:
        on_count(done)
        if time.perf_counter() - start > TIMEOUT_S:
            raise RuntimeError(f"only {done} of {expected} registered")
        time.sleep(0.005)
    return time.perf_counter()


def throughput(
    root: Path, datasets: Datasets, registrars: int, memory: bool, options: Sequence[str] = ()
) -> tuple[Throughput, Memory | None]:
    """Register the datasets through RabbitMQ with ``registrars`` processes; time it."""
    size, warmup = len(datasets.uris), len(datasets.warmup)
    with Workspace(root, f"throughput-{size}-{registrars}") as space:
        for base_uri in (datasets.base_uri, datasets.warmup_base_uri):
            space.stores.admin.add_base_uri(base_uri)
        args = ["registrar", "--no-rescan", *options]
        workers = [space.process(args) for _ in range(registrars)]
        # NOTE(dev): without publisher confirms, so that publishing never paces the run.
        fast = EventQueue(space.vhost.url, transport_options={"confirm_publish": False})
        with running(workers, connected):
            before = workers[0].rss_mb()
            fast.publish_many([DatasetEvent.create("frozen", u, "bench") for u in datasets.warmup])
            registered(space, warmup, lambda done: None)
            floor = floor_rate(datasets.uris)
            events = [DatasetEvent.create("frozen", uri, "bench") for uri in datasets.uris]
            warm_at, samples = max(min(1000, size // 10), 1), [0.0]

            def sample(done: int) -> None:
                if not samples[0] and done >= warmup + warm_at:
                    samples[0] = workers[0].rss_mb()

            # NOTE(dev): the registrars are paused while the burst is published, so
            # that the clock runs for their work alone, not for this process's.
            for worker in workers:
                worker.pause()
            fast.publish_many(events)
            cpu = sum(worker.cpu_seconds() for worker in workers)
            start = time.perf_counter()
            for worker in workers:
                worker.resume()
            seconds = registered(space, warmup + size, sample) - start
            cpu = sum(worker.cpu_seconds() for worker in workers) - cpu
            after = workers[0].rss_mb()
            floor = (floor + floor_rate(datasets.uris)) / 2
        fast.close()
    result = Throughput(size, registrars, seconds, floor, cpu)
    return result, Memory(size, before, samples[0], warm_at, after) if memory else None


def latency_samples(
    space: Workspace, base_uri: str, samples: int, freeze: Callable[[str, str], None]
) -> list[float]:
    """Freeze datasets one at a time; return the seconds until each is found."""
    results = []
    for number in range(samples):
        word = f"sample{number:04d}x{secrets.token_hex(3)}"
        freeze(f"latency-{number:04d}", f"---\ndescription: {word}\n")
        start = time.perf_counter()
        if not wait_until(lambda w=word: space.found(base_uri, w), 60, interval=0.002):
            raise RuntimeError(f"dataset {number} never showed up")
        results.append(time.perf_counter() - start)
        time.sleep(0.1)
    return results


def watch_latency(root: Path, samples: int) -> Latency:
    """Latency on the watcher path: watch → RabbitMQ → registrar → search."""
    with Workspace(root, "latency-watch") as space:
        factory = DatasetFactory(space.dir / "base")
        space.stores.admin.add_base_uri(factory.base_uri)
        registrar = space.process(["registrar", "--no-rescan"])
        watcher = space.process(["watch", str(factory.base)])
        with running([registrar], connected), running([watcher], lambda p: "(events)" in p.log()):

            def freeze(name: str, readme: str) -> None:
                factory.proto(name, readme).freeze()

            results = latency_samples(space, factory.base_uri, samples, freeze)
        factory.close()
    return Latency("watcher path", results, WATCH_P50_TARGET_S)


def s3_latency(root: Path, samples: int) -> Latency:
    """Latency on the S3 path: moto S3 → SQS → s3-events → RabbitMQ → registrar → search."""
    with moto_server() as endpoint, Workspace(root, "latency-s3") as space:
        bucket, queue_url, dtool_s3 = notified_bucket(endpoint)
        os.environ.update(dtool_s3)  # for dtool-s3 in this process, which writes the datasets
        aws = {"AWS_ENDPOINT_URL_SQS": endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
        aws |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        space.stores.admin.add_base_uri(f"s3://{bucket}")
        registrar = space.process(["registrar", "--no-rescan"], **dtool_s3)
        aws["DTOOL_LOOKUP_S3_QUEUE_URL"] = queue_url
        source = space.process(["s3-events", "--wait-seconds", "2"], **dtool_s3, **aws)
        item = space.dir / "item.txt"
        item.write_text("plum")

        def freeze(name: str, readme: str) -> None:
            proto = dtoolcore.create_proto_dataset(name, f"s3://{bucket}", readme_content=readme)
            proto.put_item(str(item), "item.txt")
            proto.freeze()

        with running([registrar], connected), running([source], lambda p: "reading" in p.log()):
            results = latency_samples(space, f"s3://{bucket}", samples, freeze)
    return Latency("S3 via SQS path (moto)", results)


def make_datasets(root: Path, size: int, warmup: int = WARMUP) -> Datasets:
    """Create ``size`` small frozen datasets, and ``warmup`` more in another base."""
    made = []
    for name, count in ((f"datasets-{size}", size), (f"warmup-{size}", warmup)):
        factory = DatasetFactory(root / name)
        start = time.perf_counter()
        made.append(([factory.freeze(f"ds-{n:05d}") for n in range(count)], factory.base_uri))
        progress(f"created {count:,} datasets in {time.perf_counter() - start:.1f} s")
        factory.close()
    (uris, base_uri), (warm, warm_base_uri) = made
    return Datasets(uris, base_uri, warm, warm_base_uri)


def machine() -> str:
    """Describe the machine and its load."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average at start {load}"
    )


def run(args: argparse.Namespace, root: Path) -> Report:
    """Measure everything the arguments ask for."""
    report = Report(machine())
    memoize_dtoolcore_broker_lookup()  # the floor's dtoolcore; it also writes datasets faster
    for size in args.sizes:
        datasets = make_datasets(root, size)
        # NOTE(dev): one untimed read first, so that the first floor does not read files
        # the making of 100,000 datasets pushed out of the page cache while the
        # registrars later read them warm (it gave 1 registrar 74% of a cold floor).
        progress(f"read once to warm the cache: {floor_rate(datasets.uris):,.0f} datasets/s")
        for registrars in args.registrars:
            memory = registrars == 1 and size == max(args.sizes)
            options = shlex.split(args.registrar_options)
            result, used = throughput(root, datasets, registrars, memory, options)
            progress(
                f"{size:,} datasets, {registrars} registrar(s): {result.rate:,.0f}/s, "
                f"{1e6 * result.cpu_seconds / size:.0f} µs CPU per dataset, "
                f"floor {1e6 / result.floor_rate:.0f} µs per dataset"
            )
            report.throughput.append(result)
            report.memory += [used] if used else []
    if args.watch_samples:
        report.latency.append(watch_latency(root, args.watch_samples))
        progress(f"watcher path p50 {report.latency[-1].quantile(0.5):.3f} s")
    if args.s3_samples:
        report.latency.append(s3_latency(root, args.s3_samples))
        progress(f"S3 path p50 {report.latency[-1].quantile(0.5):.3f} s")
    return report


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_numbers, default=[1000, 10000])
    parser.add_argument("--registrars", type=_numbers, default=[1, 2])
    parser.add_argument("--watch-samples", type=int, default=30)
    parser.add_argument("--s3-samples", type=int, default=20)
    parser.add_argument(
        "--registrar-options", default="", help="More options of `registrar`, e.g. --batch-size 50"
    )
    parser.add_argument("--output", type=Path, help="Also write the table here.")
    parser.add_argument("--json", type=Path, help="Write the raw results here.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="registration-bench-") as root:
        report = run(args, Path(root))
    text = f"Machine: {report.machine}\n\n{table(report)}\n"
    print(text)
    if args.output:
        args.output.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(dataclasses.asdict(report), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
