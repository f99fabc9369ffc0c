"""What metrics and JSON logs cost: registration and lookup throughput with them on and off.

Usage::

    .venv/bin/python -m tests.bench.observability_bench [--datasets 300] [--requests 2000]
        [--rounds 3] [--output table.md]

Both workloads run in this process, alternating off and on rounds in the same
run (on a shared machine the speed drifts; alternating spreads the drift over
both), and the table gives the median of each with the on/off ratio:

- **registration**: N real dtool datasets on disk, N ``frozen`` events
  published to a fresh embedded queue and registered by a ``RegistrarWorker``
  into fresh SQLite stores, timed from the first publish to the last commit;
- **lookup**: ``GET /dataset/lookup/<uuid>`` and ``GET /uris?free_text=...``
  with a bearer token through ``create_app`` (in-process WSGI calls).

"on" counts every metric in prometheus-client's multi-process mode (files in
a directory, as under gunicorn) and writes JSON lines (access lines included)
to a file; "off" turns counting off and writes the same lines as text.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from falcon import testing

from lookup_api.app import create_app
from lookup_events.config import Settings
from lookup_events.events import DatasetEvent
from lookup_events.observability import logs, metrics
from lookup_events.services import Services
from lookup_events.tokens import issue_token
from tests.support.api import key_pair
from tests.support.datasets import DatasetFactory

TARGET_COST = 0.10
MODES = ("off", "on")


@dataclass
class Rates:
    """Throughputs measured per mode, in operations a second."""

    unit: str
    runs: dict[str, list[float]] = field(default_factory=lambda: {mode: [] for mode in MODES})

    def median(self, mode: str) -> float:
        """Return the median rate of ``mode``."""
        return statistics.median(self.runs[mode])

    @property
    def ratio(self) -> float:
        """Return the median over rounds of on / off (each round's pair ran back to back)."""
        pairs = zip(self.runs["on"], self.runs["off"], strict=True)
        return statistics.median(on / off for on, off in pairs)

    @property
    def cost(self) -> float:
        """Return the throughput lost with metrics and JSON logs on."""
        return 1 - self.ratio


@functools.cache
def _log_stream(path: Path) -> TextIO:
    return path.open("a")  # one per mode for the whole run, closed when the process ends


def observe(mode: str, log_file: Path) -> None:
    """Switch metrics and the log format for the next round."""
    metrics.enable(mode == "on")
    stream = _log_stream(log_file)
    logs.configure("bench", "json" if mode == "on" else "text", "INFO", stream=stream)


def register_round(workdir: Path, uris: Sequence[str], base_uri: str) -> float:
    """Publish and register ``uris`` into fresh stores; return events a second."""
    services = Services(Settings(data_dir=Path(tempfile.mkdtemp(dir=workdir))).completed())
    try:
        services.admin.add_base_uri(base_uri)
        worker = services.registrar_worker(batch_size=100, prefetch=200)
        stop, done = threading.Event(), 0
        start = time.perf_counter()
        services.queue.publish_many(DatasetEvent.create("frozen", uri, "watch") for uri in uris)
        with worker.consumer() as consumer:
            for batch in consumer.batches(100, 0.05, idle_timeout=5.0, stop=stop):
                done += len(worker.handle(batch))
                if done >= len(uris):
                    break
        elapsed = time.perf_counter() - start
        assert worker.counts["registered"] == len(uris), f"not all registered: {worker.counts}"
        return done / elapsed
    finally:
        services.close()


def lookup_round(
    client: testing.TestClient, paths: Sequence[str], token: str, log_dir: Path, block: int = 50
) -> dict[str, float]:
    """Send the requests in blocks, each block off then on (or on then off); return rates.

    Blocks of a few dozen requests put the two modes seconds apart at most,
    so the machine's drift cancels out of their ratio.
    """
    headers = {"Authorization": f"Bearer {token}"}
    spent = dict.fromkeys(MODES, 0.0)
    for n, first in enumerate(range(0, len(paths), block)):
        for mode in MODES if n % 2 == 0 else MODES[::-1]:
            observe(mode, log_dir / f"{mode}.log")
            start = time.perf_counter()
            for path in paths[first : first + block]:
                reply = client.simulate_get(path, headers=headers)
                assert reply.status_code == 200, (path, reply.status_code)
            spent[mode] += time.perf_counter() - start
    return {mode: len(paths) / spent[mode] for mode in MODES}


def lookup_setup(
    workdir: Path, uris: Sequence[str], base_uri: str, requests: int
) -> tuple[testing.TestClient, list[str], str]:
    """Register ``uris`` once and return a client, its request mix and a token."""
    keys = key_pair()
    settings = Settings(data_dir=workdir / "api", jwt_public_key=keys.public_pem).completed()
    services = Services(settings)
    services.admin.add_user("bench")
    services.admin.add_base_uri(base_uri)
    services.admin.set_permissions(base_uri, search=["bench"], register=[])
    registrar = services.registrar()
    uuids = [registrar.register_uri(uri).record.entry.uuid for uri in uris]
    client = testing.TestClient(create_app(settings, services.stores))
    mix = [f"/dataset/lookup/{uuid}" for uuid in uuids] + ["/uris?free_text=apples"]
    paths = list(itertools.islice(itertools.cycle(mix), requests))
    return client, paths, issue_token(keys.private_pem, "bench", expires_in=None)


def run(
    datasets: int, requests: int, rounds: int, workdir: Path, progress: Callable[[str], None]
) -> dict[str, Rates]:
    """Measure both workloads in alternating rounds; return their rates."""
    metrics.use_directory(workdir / "metrics", clear=True)
    factory = DatasetFactory(workdir / "datasets")
    uris = [factory.freeze(f"ds-{n:05d}") for n in range(datasets)]
    factory.close()
    progress(f"created {datasets} datasets")
    client, paths, token = lookup_setup(workdir, uris, factory.base_uri, requests)
    found = {"registration": Rates("events/s"), "lookup": Rates("requests/s")}
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        observe("on", workdir / "warmup.log")  # caches, token verification, first imports
        register_round(workdir, uris[: max(len(uris) // 10, 1)], factory.base_uri)
        lookup_round(client, paths[: max(len(paths) // 10, 1)], token, workdir)
        for n in range(rounds):
            for mode in MODES if n % 2 == 0 else MODES[::-1]:
                observe(mode, workdir / f"{mode}.log")
                rate = register_round(workdir, uris, factory.base_uri)
                found["registration"].runs[mode].append(rate)
            for mode, rate in lookup_round(client, paths, token, workdir).items():
                found["lookup"].runs[mode].append(rate)
            progress(
                f"round {n + 1}: "
                + ", ".join(
                    f"{name} off {rates.runs['off'][-1]:.0f} on {rates.runs['on'][-1]:.0f}"
                    for name, rates in found.items()
                )
            )
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        metrics.enable(True)
    return found


def table(found: dict[str, Rates], datasets: int, requests: int, rounds: int) -> str:
    """Return the markdown table of the run."""
    lines = [
        f"Metrics + JSON logs on vs off, same run, {rounds} rounds; {datasets} datasets "
        f"registered per round and mode (alternating order), {requests} lookups per round in "
        "alternating blocks of 50; off/on: median rate; on / off: median of the rounds' "
        "ratios; shared 2-core machine.",
        "",
        "| workload | off | on | on / off (range) | cost (target ≤ 10%) |",
        "|---|---|---|---|---|",
    ]
    for name, rates in found.items():
        off, on = rates.median("off"), rates.median("on")
        verdict = "met" if rates.cost <= TARGET_COST else "NOT met"
        ratios = [a / b for a, b in zip(rates.runs["on"], rates.runs["off"], strict=True)]
        lines.append(
            f"| {name} throughput | {off:,.0f} {rates.unit} | {on:,.0f} {rates.unit} | "
            f"{rates.ratio:.2f} ({min(ratios):.2f} to {max(ratios):.2f}) | "
            f"{rates.cost:+.1%} ({verdict}) |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=300)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="observability-bench-") as workdir:
        found = run(args.datasets, args.requests, args.rounds, Path(workdir), progress)
    text = table(found, args.datasets, args.requests, args.rounds)
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
