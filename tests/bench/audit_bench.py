"""Audit benchmark: registration throughput with the audit trail on, next to off.

    .venv/bin/python -m tests.bench.audit_bench                  # N = 5,000, 3 rounds
    .venv/bin/python -m tests.bench.audit_bench --size 200 --rounds 1 --backends sqlite
        [--batch-size 100] [--postgres-url URL] [--output table.md]

Events go through the registrar's own path, ``BatchHandler.handle_batch`` in
batches of ``--batch-size`` (the worker's default, 100), each event its
dataset's actor. Storage is a dictionary of synthetic info documents
(``synthetic.py``) read by the ``Registrar``'s reader, so the time is the
registrar's validation and its store transactions alone: reading real
storage would add the same time to both sides and shrink the ratio. Three
phases, timed apart, on a fresh database per measurement:

1. first registration: N ``frozen`` events of new datasets;
2. re-registration with changes: a tag added, an annotation and the README
   changed in every dataset, N ``updated`` events;
3. removal: every dataset gone from storage, N ``removed`` events.

Both sides run at once, each on a database of its own: every batch goes to
the off side and the on side in turn (alternating which goes first), so
load from other processes falls on both alike. The table shows the median
rate over the rounds and the cost, ``1 - on / off`` of the medians.
No target is asserted; the table goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lookup_events.config import Settings
from lookup_events.errors import DatasetNotFound
from lookup_events.events import DatasetEvent
from lookup_events.registrar.batch import BatchHandler
from lookup_events.registrar.writer import Registrar
from lookup_events.store import open_stores, upgrade_database
from tests.bench.seeding import BACKENDS, temporary_database
from tests.bench.synthetic import BASE_URIS, Corpus

PHASES = ("first registration", "re-registration with changes", "removal")
TARGET_COST = 0.10


class MemoryStorage:
    """Datasets' info documents by URI: the reader the registrar is given."""

    def __init__(self, infos: Sequence[dict[str, Any]]) -> None:
        self.infos = {info["uri"]: info for info in infos}
        self.gone: list[str] = []

    def __call__(self, uri: str) -> dict[str, Any]:
        """Return the info at ``uri``, as storage would."""
        try:
            return self.infos[uri]
        except KeyError:
            raise DatasetNotFound(f"nothing at {uri}") from None

    def infos_gone(self) -> None:
        """Remove every dataset from storage, keeping the URIs to send events for."""
        self.gone = list(self.infos)
        self.infos.clear()

    def change_everything(self) -> None:
        """Add a tag, change an annotation and the README of every dataset."""
        for info in self.infos.values():
            info["tags"] = [*info["tags"], "reviewed"]
            info["annotations"] = {**info["annotations"], "reviewed_by": "bench"}
            info["readme"] += "\nreviewed: true\n"


@dataclasses.dataclass(frozen=True)
class Row:
    """One backend and phase: datasets a second with the audit off and on."""

    backend: str
    phase: str
    size: int
    off: list[float]
    on: list[float]

    @property
    def cost(self) -> float:
        """The throughput lost to the audit trail (median rates)."""
        return 1 - statistics.median(self.on) / statistics.median(self.off)


def progress(message: str) -> None:
    """Print a progress line to stderr."""
    print(message, file=sys.stderr, flush=True)


class Side:
    """One registrar with the audit off or on: its stores, storage and handler."""

    def __init__(self, url: str, workdir: Path, size: int, audit: bool) -> None:
        upgrade_database(url)
        settings = Settings(data_dir=workdir, database_url=url).completed()
        self.stores = open_stores(dataclasses.replace(settings, audit=audit))
        for base_uri in BASE_URIS:
            self.stores.admin.add_base_uri(base_uri)
        self.storage = MemoryStorage(list(Corpus(size).infos()))
        self.handler = BatchHandler(
            Registrar(self.stores.admin, self.stores.datasets, reader=self.storage)
        )
        self.seconds = 0.0

    def handle(self, events: list[DatasetEvent]) -> None:
        """Apply one batch, adding its time to this side's."""
        started = time.perf_counter()
        outcomes = self.handler.handle_batch(events)
        self.seconds += time.perf_counter() - started
        failed = [outcome for outcome in outcomes if outcome.status != "done"]
        if failed:
            raise RuntimeError(f"an event failed: {failed[0]}")


def interleaved(sides: Sequence[Side], kind: str, source: str, batch_size: int) -> list[float]:
    """Feed the same events to every side a batch at a time, alternating who goes first.

    Returns each side's datasets a second. Batches of both sides alternate
    within milliseconds, so a burst of load from other processes lands on
    both alike (whole runs one after the other differed by 3x here).
    """
    uris = list(sides[0].storage.infos) or sides[0].storage.gone
    events = [DatasetEvent.create(kind, uri, source) for uri in uris]  # type: ignore[arg-type]
    for side in sides:
        side.seconds = 0.0
    for number, start in enumerate(range(0, len(events), batch_size)):
        batch = events[start : start + batch_size]
        for side in sides if number % 2 == 0 else reversed(sides):
            side.handle(batch)
    return [len(events) / side.seconds for side in sides]


def measure_round(
    backend: str, workdir: Path, args: argparse.Namespace
) -> tuple[list[float], list[float]]:
    """Run the three phases with the audit off and on side by side; return both rates."""
    with contextlib.ExitStack() as stack:
        sides = []
        for audit in (False, True):
            place = workdir / f"audit-{audit}"
            place.mkdir()
            url = stack.enter_context(temporary_database(backend, place, args.postgres_url))
            side = Side(url, place, args.size, audit)
            stack.callback(side.stores.close)
            sides.append(side)
        rates = [interleaved(sides, "frozen", "s3", args.batch_size)]
        for side in sides:
            side.storage.change_everything()
        rates.append(interleaved(sides, "updated", "watch", args.batch_size))
        for side in sides:
            side.storage.infos_gone()
        rates.append(interleaved(sides, "removed", "scan", args.batch_size))
    return [rate[0] for rate in rates], [rate[1] for rate in rates]


def run(args: argparse.Namespace, workdir: Path) -> list[Row]:
    """Measure every backend, ``args.rounds`` times."""
    rows: list[Row] = []
    for backend in args.backends:
        results: dict[bool, list[list[float]]] = {False: [], True: []}
        for round_number in range(args.rounds):
            place = workdir / f"{backend}-{round_number}"
            place.mkdir()
            off, on = measure_round(backend, place, args)
            results[False].append(off)
            results[True].append(on)
            shown = "; ".join(
                f"{a:,.0f}/s off, {b:,.0f}/s on" for a, b in zip(off, on, strict=True)
            )
            progress(f"{backend} round {round_number + 1}: {shown}")
        for index, phase in enumerate(PHASES):
            off_rates = [rates[index] for rates in results[False]]
            on_rates = [rates[index] for rates in results[True]]
            rows.append(Row(backend, phase, args.size, off_rates, on_rates))
    return rows


def table(rows: Sequence[Row], rounds: int) -> str:
    """Return the Markdown table of the rows."""
    lines = [
        f"| backend | phase | N | audit off (datasets/s) | audit on (datasets/s) "
        f"| cost (target ≤ {TARGET_COST:.0%}) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.backend} | {row.phase} | {row.size:,} "
            f"| {_rates(row.off)} | {_rates(row.on)} | {row.cost:+.1%} |"
        )
    lines.append("")
    lines.append(
        f"Median of {rounds} round(s), range in brackets; {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}; one registrar "
        "in-process, storage in memory; the machine was shared with other work."
    )
    return "\n".join(lines)


def _rates(rates: Sequence[float]) -> str:
    median = f"{statistics.median(rates):,.0f}"
    return median if len(rates) == 1 else f"{median} [{min(rates):,.0f} to {max(rates):,.0f}]"


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--backends", type=lambda text: text.split(","), default=list(BACKENDS))
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as directory:
        rows = run(args, Path(directory))
    text = table(rows, args.rounds)
    out(text)
    if args.output is not None:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
