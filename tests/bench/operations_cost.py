"""What operations features cost: registration and the API with them all on, next to all off.

    .venv/bin/python -m tests.bench.operations_cost            # 3,000 datasets x 7 rounds
    .venv/bin/python -m tests.bench.operations_cost --datasets 20 --rounds 1 --api-size 200 \\
        --duration 1 --freezes 10 [--scrape-interval 1] [--output table.md]

"On" is every operations feature a deployment runs with: metrics counted (the
API in prometheus-client's multi-process mode, as ``infra/gunicorn.conf.py``
sets it up; a registrar in memory behind its listener) and scraped every
``--scrape-interval`` seconds while the side is measured, JSON log lines
(``DTOOL_LOOKUP_LOG_FORMAT=json``) and the audit trail (``DTOOL_LOOKUP_AUDIT``).
"Off" counts nothing (``tests.bench.uncounted``), serves no metrics, writes
text lines and no audit entries. The sides of a measurement run **at the same
time**, so whatever else loads this shared machine loads them alike (one
after the other, rounds seconds apart differed by up to 1.5x here):

1. **Registration**, the registration benchmark's real path: small frozen
   datasets on disk, ``frozen`` events through RabbitMQ, ``dtool-lookup
   registrar`` processes into SQLite. Each round starts, per side, a new
   store, virtual host and registrar (warmed up on 50 other datasets), queues
   the same ``--datasets`` events to each paused registrar and resumes them
   together; a side's rate is what it registered until the first side had
   registered everything, over that time. A third side, everything on but
   the audit trail, tells the audit's part.
2. **The API** under gunicorn (``-c infra/gunicorn.conf.py``, one sync worker
   a side), both sides reading one seeded SQLite store: lookup by UUID,
   search and list pages (``workload.py``), each loaded by wrk on both sides
   at once for ``--duration`` seconds, every round.
3. **Subscription delivery latency** for ``--freezes`` matching freezes
   (``subscription_latency``, SQLite, a deliverer process), after the rest.

Sharing the machine halves (thirds) each side's absolute rate; the ratio
on / off per round is what the table reports: its median and range over the
rounds. No target is asserted; the table goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench import subscription_latency
from tests.bench.loaders import check_bounds
from tests.bench.operations_sides import (
    OFF,
    ON,
    UNAUDITED,
    ApiSides,
    make_datasets,
    register_together,
)
from tests.support.postgres import DEFAULT_POSTGRES_URL

MODES = (OFF, ON)
TARGET_COST = 0.10


@dataclass
class Rates:
    """One workload's rates per mode, a pair per round."""

    name: str
    unit: str
    runs: dict[str, list[float]] = field(default_factory=lambda: {mode: [] for mode in MODES})

    def ratios(self) -> list[float]:
        """Return on / off of every round's pair."""
        pairs = zip(self.runs["on"], self.runs["off"], strict=True)
        return [on / off if off else math.nan for on, off in pairs]  # nan: a tiny run

    def row(self) -> str:
        """Return this workload's table row."""
        ratios = self.ratios()
        ratio = statistics.median(ratios)
        cost = 1 - ratio
        verdict = "met" if cost <= TARGET_COST else "NOT met"
        off, on = (statistics.median(self.runs[mode]) for mode in MODES)
        return (
            f"| {self.name} | {off:,.0f} {self.unit} | {on:,.0f} {self.unit} | "
            f"{ratio:.2f} ({min(ratios):.2f} to {max(ratios):.2f}) | {cost:+.1%} ({verdict}) |"
        )


def progress(message: str) -> None:
    """Print a progress line to stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure_registration(root: Path, args: argparse.Namespace) -> list[Rates]:
    """Register the datasets on new sides, all at once, per round; return the rates.

    A third side, all on but the audit trail, tells the audit's part of the cost.
    """
    datasets = make_datasets(root / "datasets", args.datasets, progress)
    name = f"registration ({args.datasets:,} datasets a round)"
    found = Rates(name, "datasets/s")
    unaudited = Rates(f"{name}, audit trail off", "datasets/s", {OFF: found.runs[OFF], ON: []})
    runs = {OFF: found.runs[OFF], ON: found.runs[ON], UNAUDITED: unaudited.runs[ON]}
    modes = [OFF, ON, UNAUDITED]
    for number in range(args.rounds):
        order = modes[number % 3 :] + modes[: number % 3]  # who is resumed first
        rates, checks = register_together(
            root / f"round-{number}", order, datasets, args.scrape_interval
        )
        for mode, rate in rates.items():
            runs[mode].append(rate)
        shown = ", ".join(f"{mode} {rate:,.0f}" for mode, rate in rates.items())
        progress(f"registration round {number + 1}: {shown} datasets/s; {'; '.join(checks)}")
    return [found, unaudited]


def measure_api(root: Path, args: argparse.Namespace) -> list[Rates]:
    """Load every endpoint on both sides at once, per round; return the rates."""
    with ApiSides(
        root, args.api_size, args.duration, args.connections, args.scrape_interval
    ) as api:
        found = [Rates(endpoint, "requests/s") for endpoint in api.endpoints()]
        for number in range(args.rounds):
            for index, rates in enumerate(found):
                for mode, rate in api.load_together(index).items():
                    rates.runs[mode].append(rate)
                progress(f"API round {number + 1}, {rates.name}: {_pair(rates)}")
        progress(api.check())
    return found


def measure_delivery(root: Path, args: argparse.Namespace) -> subscription_latency.Result:
    """Measure the subscription delivery latency of ``--freezes`` matching freezes."""
    place = root / "subscriptions"
    place.mkdir()
    return subscription_latency.measure(
        "sqlite", place, args.records, args.freezes, rate=args.rate, postgres_url=args.postgres_url
    )


def _pair(rates: Rates) -> str:
    return f"off {rates.runs['off'][-1]:,.0f}, on {rates.runs['on'][-1]:,.0f} {rates.unit}"


def table(
    args: argparse.Namespace, workloads: Sequence[Rates], delivery: subscription_latency.Result
) -> str:
    """Return the Markdown tables of the run."""
    lines = [
        "| workload | all off | all on | on / off (range) | cost (target ≤ 10%) |",
        "|---|---|---|---|---|",
        *(rates.row() for rates in workloads),
        "",
        "| subscriptions | freezes | pace | delivered | p50 | p95 | max |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    latencies = delivery.latencies_ms or [float("nan")]
    quantile = subscription_latency.percentile
    lines.append(
        f"| delivery latency from commit (SQLite) | {delivery.freezes:,} | {args.rate:g}/s | "
        f"{delivery.delivered:,} | {quantile(latencies, 0.5):.0f} ms | "
        f"{quantile(latencies, 0.95):.0f} ms | {max(latencies):.0f} ms |"
    )
    lines += [
        "",
        f"{args.rounds} rounds, the sides of each measurement running at the same time "
        "(the rates are each side's share of the machine); registration: a registrar per "
        "side through RabbitMQ into SQLite; API: "
        f"{args.api_size:,} datasets in SQLite, gunicorn with one sync worker a side, wrk with "
        f"{args.connections} connections a side for {args.duration:g} s per endpoint; "
        f"all on: metrics scraped every {args.scrape_interval:g} s, JSON logs, audit trail; "
        "off/on: median rates; on / off: median (range) of the rounds' ratios; "
        "the 2-core machine was shared with other work.",
    ]
    return "\n".join(lines) + "\n"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=3000, help="registered per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--api-size", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--scrape-interval", type=float, default=1.0)
    parser.add_argument("--freezes", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="freezes a second (0: burst)")
    parser.add_argument("--records", type=int, default=200, help="subscription_latency's")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    check_bounds(args.duration, args.connections)
    return args


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    """Run the benchmark and print its tables."""
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="operations-cost-") as directory:
        root = Path(directory)
        workloads = [*measure_registration(root, args), *measure_api(root, args)]
        progress("subscriptions: delivery latency")
        delivery = measure_delivery(root, args)
    text = table(args, workloads, delivery)
    out(text)
    if args.output is not None:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
