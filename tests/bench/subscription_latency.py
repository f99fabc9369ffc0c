"""Subscriptions: delivery latency from commit, and what they cost registration.

Per backend, on a fresh database, in one run:

1. **Registration throughput** without subscriptions (no outbox) and with them (the outbox
   written in each transaction, 10 subscriptions saved, one matching every dataset):
   ``--records`` synthetic records each way through ``Registrar.store_many`` in batches of 100
   (the registrar's batch path), one batch without and one with in turn, so both share the
   machine's moods; first with no deliverer running (the outbox's own cost), then while the
   deliverer, a process of its own, sends every notification to a webhook.
2. **Delivery latency**: ``--freezes`` single registrations (one transaction each, as a freeze
   event gives), paced at ``--rate`` per second (0: all at once), each matching the one
   subscription; the latency of a notification is its arrival at a real HTTP receiver on
   loopback minus its ``committed_at`` (the time of the outbox row, written just before the
   commit).

    .venv/bin/python -m tests.bench.subscription_latency                  # 1,000 freezes
    .venv/bin/python -m tests.bench.subscription_latency --freezes 50 --records 200 \
        --backends sqlite
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from lookup_events.config import Settings
from lookup_events.model import DatasetRecord, record_from_info
from lookup_events.services import Services
from lookup_events.store import upgrade_database
from tests.bench.seeding import BACKENDS, temporary_database
from tests.bench.server import REPO_ROOT, server_environment, stop
from tests.support.data import make_info
from tests.support.postgres import DEFAULT_POSTGRES_URL
from tests.support.webhooks import Receiver, webhook_receiver

BASE_URI = "s3://bench-subscriptions"
USER = "bench-user"
BATCH = 100
OTHER_SUBSCRIPTIONS = 9
FREEZE_OFFSET = 10_000_000


@dataclasses.dataclass(frozen=True)
class Result:
    """One backend's figures."""

    backend: str
    records: int
    outbox_only: tuple[float, float]  # records/s without and with, no deliverer running
    delivering: tuple[float, float]  # the same while the deliverer sends
    freezes: int
    rate: float
    delivered: int
    latencies_ms: list[float]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def environment(url: str, data_dir: Path, subscriptions: bool) -> dict[str, str]:
    """Return the settings' environment of the stores at ``url``."""
    return {
        "DTOOL_LOOKUP_DATA_DIR": str(data_dir),
        "DTOOL_LOOKUP_DATABASE_URL": url,
        "DTOOL_LOOKUP_SUBSCRIPTIONS": "true" if subscriptions else "false",
        "DTOOL_LOOKUP_SUBSCRIPTION_HTTP": "true",
        "DTOOL_LOOKUP_SUBSCRIPTION_NETWORKS": "127.0.0.0/8",
    }


@contextmanager
def deliverer(env: dict[str, str], log_path: Path) -> Iterator[None]:
    """Run ``dtool-lookup deliver`` as its own process."""
    command = [sys.executable, "-m", "lookup_events.cli", "deliver", "--log-level", "WARNING"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=server_environment(env), stdout=log, stderr=log
        )
        try:
            yield
        finally:
            stop(process)


def records(start: int, count: int) -> list[DatasetRecord]:
    """Return ``count`` synthetic records numbered from ``start``."""
    return [record_from_info(make_info(i, BASE_URI)) for i in range(start, start + count)]


def interleaved_rates(
    off: Services, on: Services, count: int, start: int = 0
) -> tuple[float, float]:
    """Return records per second without and with subscriptions, batches interleaved.

    NOTE(dev): one batch without, one with, in turn (and in alternating order), so
    both sides share whatever else the machine is doing at that moment.
    """
    registrars = {"off": off.registrar(), "on": on.registrar()}
    spent = {"off": 0.0, "on": 0.0}
    for n, offset in enumerate(range(0, count, BATCH)):
        size = min(BATCH, count - offset)
        first = start + offset
        batches = {"off": records(first, size), "on": records(first + count, size)}
        for side in ("off", "on") if n % 2 == 0 else ("on", "off"):
            started = time.perf_counter()
            registrars[side].store_many(batches[side])
            spent[side] += time.perf_counter() - started
    return count / spent["off"], count / spent["on"]


def prepare(services: Services, receiver: Receiver) -> None:
    """Register the user and base URI; save one matching and some other subscriptions."""
    services.admin.add_base_uri(BASE_URI)
    services.admin.add_user(USER)
    services.admin.grant(USER, BASE_URI, "search")
    manager = services.subscription_manager()
    manager.create(USER, {"free_text": "synthetic"}, webhook=receiver.url)
    for n in range(OTHER_SUBSCRIPTIONS):
        manager.create(USER, {"free_text": f"nothing{n}"}, webhook=receiver.url)


def wait_quiet(receiver: Receiver, expected: int, timeout: float = 600) -> int:
    """Wait until ``expected`` notifications arrived (or ``timeout``); return how many did."""
    return len(receiver.wait_for(expected, timeout))


def freeze(services: Services, count: int, rate: float) -> None:
    """Register ``count`` datasets one transaction each, ``rate`` per second (0: at once)."""
    registrar = services.registrar()
    started = time.perf_counter()
    for n in range(count):
        if rate:
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        registrar.register_info(make_info(FREEZE_OFFSET + n, BASE_URI))


def latencies(receiver: Receiver, since: int) -> list[float]:
    """Return arrival minus commit, in ms, of the notifications after the first ``since``."""
    found = []
    for item in receiver.received[since:]:
        committed = datetime.fromisoformat(item.json["committed_at"]).timestamp()
        found.append((item.at - committed) * 1000)
    return found


def measure(
    backend: str, workdir: Path, count: int, freezes: int, *, rate: float, postgres_url: str
) -> Result:
    """Measure one backend on a fresh database."""
    with temporary_database(backend, workdir, postgres_url) as url:
        upgrade_database(url)
        on_env = environment(url, workdir, subscriptions=True)
        on = Services(Settings.from_env(on_env))
        off = Services(Settings.from_env(environment(url, workdir, subscriptions=False)))
        with webhook_receiver() as receiver:
            prepare(on, receiver)
            outbox_only = interleaved_rates(off, on, count)
            with deliverer(on_env, workdir / f"deliver-{backend}.log"):
                delivering = interleaved_rates(off, on, count, start=2 * count)
                backlog = 2 * count
                wait_quiet(receiver, backlog)
                freeze(on, freezes, rate)
                delivered = wait_quiet(receiver, backlog + freezes) - backlog
                found = latencies(receiver, backlog)
        on.close()
        off.close()
    return Result(backend, count, outbox_only, delivering, freezes, rate, delivered, found)


def table(results: Sequence[Result]) -> str:
    """Return both Markdown tables."""
    lines = [
        "| backend | freezes | pace | delivered | p50 ms | p95 ms | max ms |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        pace = f"{r.rate:g}/s" if r.rate else "all at once"
        values = r.latencies_ms or [float("nan")]
        lines.append(
            f"| {r.backend} | {r.freezes:,} | {pace} | {r.delivered:,} | "
            f"{percentile(values, 0.5):.0f} | {percentile(values, 0.95):.0f} | {max(values):.0f} |"
        )
    lines += [
        "",
        "| backend | records | deliverer | without subscriptions (records/s) "
        "| with (records/s) | ratio |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in results:
        for label, (without, with_) in (("idle", r.outbox_only), ("sending", r.delivering)):
            lines.append(
                f"| {r.backend} | {r.records:,} | {label} | {without:,.0f} | {with_:,.0f} | "
                f"{with_ / without:.2f}x |"
            )
    return "\n".join(lines)


def run(
    freezes: int,
    count: int,
    backends: Sequence[str],
    rate: float,
    postgres_url: str = DEFAULT_POSTGRES_URL,
) -> str:
    """Measure every backend; return the tables."""
    results = []
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="bench-subscriptions-") as workdir:
            print(f"{backend}: measuring", file=sys.stderr)
            results.append(
                measure(
                    backend, Path(workdir), count, freezes, rate=rate, postgres_url=postgres_url
                )
            )
    return table(results)


def main() -> None:
    """Parse the options, run, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--freezes", type=int, default=1000)
    parser.add_argument("--records", type=int, default=4000, help="per side of throughput")
    parser.add_argument("--rate", type=float, default=50.0, help="freezes per second (0: burst)")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()
    print(run(args.freezes, args.records, args.backends, args.rate, args.postgres_url))


if __name__ == "__main__":
    main()
