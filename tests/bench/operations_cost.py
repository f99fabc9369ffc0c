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
text lines and no audit entries. In one run, interleaved:

1. **Registration**, the registration benchmark's real path: small frozen
   datasets on disk, ``frozen`` events through RabbitMQ (a virtual host per
   side), one ``dtool-lookup registrar`` process per side, a SQLite store per
   side. Each round registers the same ``--datasets`` datasets on each side
   in turn (alternating which goes first), each time into a new store through
   a new virtual host and registrar (warmed up on 50 others); the clock runs
   from resuming the paused registrar to the store holding them all.
2. **The API** under gunicorn (``-c infra/gunicorn.conf.py``, one sync worker
   each), both sides reading one seeded SQLite store: lookup by UUID, search
   and list pages (``workload.py``), loaded by wrk for ``--duration`` seconds,
   off and on in turn per endpoint and round.
3. **Subscription delivery latency** for ``--freezes`` matching freezes
   (``subscription_latency``, SQLite, everything on, a deliverer process).

The ratios are on / off of each round's pair, which ran seconds apart; the
table gives their median and range. No target is asserted; the table goes to
stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
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
    register_round,
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
        return [on / off for on, off in zip(self.runs["on"], self.runs["off"], strict=True)]

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


def in_turn(round_number: int) -> Sequence[str]:
    """Return the modes in this round's order (off first in even rounds)."""
    return MODES if round_number % 2 == 0 else MODES[::-1]


def measure_registration(root: Path, args: argparse.Namespace) -> list[Rates]:
    """Register the datasets on a new store of each side per round; return the rates.

    A third side, all on but the audit trail, tells the audit's part of the cost.
    """
    datasets = make_datasets(root / "datasets", args.datasets, progress)
    name = f"registration ({args.datasets:,} datasets a round)"
    found = Rates(name, "datasets/s")
    unaudited = Rates(f"{name}, audit trail off", "datasets/s", {OFF: found.runs[OFF], ON: []})
    runs = {OFF: found.runs[OFF], ON: found.runs[ON], UNAUDITED: unaudited.runs[ON]}
    for number in range(args.rounds):
        checks = []
        order = (OFF, ON, UNAUDITED) if number % 2 == 0 else (UNAUDITED, ON, OFF)
        for mode in order:
            place = root / f"round-{number}"
            rate, said = register_round(place, mode, datasets, args.scrape_interval)
            runs[mode].append(rate)
            checks.append(said)
        shown = ", ".join(f"{mode} {runs[mode][-1]:,.0f}" for mode in order)
        progress(f"registration round {number + 1}: {shown} datasets/s; {'; '.join(checks)}")
    return [found, unaudited]


def measure_api(root: Path, args: argparse.Namespace) -> list[Rates]:
    """Load every endpoint off and on, in turn, per round; return the rates."""
    with ApiSides(
        root, args.api_size, args.duration, args.connections, args.scrape_interval
    ) as api:
        found = [Rates(endpoint, "requests/s") for endpoint in api.endpoints()]
        for number in range(args.rounds):
            for index, rates in enumerate(found):
                for mode in in_turn(number + index):
                    rates.runs[mode].append(api.load(mode, index))
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
        f"{args.rounds} rounds; registration: one registrar through RabbitMQ into SQLite; "
        f"API: {args.api_size:,} datasets in SQLite, gunicorn with one sync worker, "
        f"{args.connections} connections for {args.duration:g} s per endpoint and mode; "
        f"all on: metrics scraped every {args.scrape_interval:g} s, JSON logs, audit trail; "
        "off/on: median rates; on / off: median of the rounds' paired ratios; "
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
