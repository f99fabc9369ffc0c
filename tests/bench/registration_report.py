"""Results of the registration benchmark, its targets, and the Markdown table."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

THROUGHPUT_TARGET_PCT = 70.0
WATCH_P50_TARGET_S = 1.0
LEAK_TARGET_MB = 10.0


@dataclass(frozen=True)
class Throughput:
    """N events through RabbitMQ into SQLite by K registrar processes, and the floor."""

    size: int
    registrars: int
    seconds: float
    floor_rate: float
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Datasets registered per second."""
        return self.size / self.seconds if self.seconds > 0 else 0.0

    @property
    def percent(self) -> float:
        """The rate as a percentage of the floor's."""
        return 100.0 * self.rate / self.floor_rate if self.floor_rate > 0 else 0.0


@dataclass(frozen=True)
class Latency:
    """Seconds from ``freeze()`` returning to the dataset showing up in a search."""

    path: str
    samples: Sequence[float]
    target_p50: float | None = None

    def quantile(self, q: float) -> float:
        """Return the ``q`` quantile (nearest rank) of the samples."""
        ordered = sorted(self.samples)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


@dataclass(frozen=True)
class Memory:
    """Resident memory of one registrar: idle, warmed up, and after every event."""

    size: int
    before_mb: float
    warm_mb: float
    warm_at: int
    after_mb: float

    @property
    def growth_mb(self) -> float:
        """What the events after warming up added."""
        return self.after_mb - self.warm_mb


@dataclass
class Report:
    """A whole benchmark run."""

    machine: str
    throughput: list[Throughput] = field(default_factory=list)
    latency: list[Latency] = field(default_factory=list)
    memory: list[Memory] = field(default_factory=list)


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def _throughput_row(item: Throughput) -> str:
    ok = item.percent >= THROUGHPUT_TARGET_PCT
    return (
        f"| registration throughput, {item.registrars} registrar process(es) | {item.size:,} "
        f"| {item.rate:,.0f} datasets/s in {item.seconds:.2f} s | {item.floor_rate:,.0f} "
        f"datasets/s | {item.percent:.0f}% | ≥ {THROUGHPUT_TARGET_PCT:.0f}% of floor "
        f"| {_verdict(ok)} |"
    )


def _latency_row(item: Latency) -> str:
    p50, p95 = item.quantile(0.5), item.quantile(0.95)
    if item.target_p50 is None:
        target, outcome = "- (reported)", "-"
    else:
        target, outcome = f"p50 < {item.target_p50:g} s", _verdict(p50 < item.target_p50)
    return (
        f"| freeze → search latency, {item.path} | {len(item.samples)} samples "
        f"| p50 {p50:.3f} s, p95 {p95:.3f} s (mean {statistics.fmean(item.samples):.3f} s) "
        f"| - | - | {target} | {outcome} |"
    )


def _memory_row(item: Memory) -> str:
    return (
        f"| registrar resident memory | {item.size:,} events | idle {item.before_mb:.0f} MB, "
        f"after {item.warm_at:,} events {item.warm_mb:.0f} MB, after {item.size:,} events "
        f"{item.after_mb:.0f} MB | - | +{item.growth_mb:.1f} MB after warm-up "
        f"| < {LEAK_TARGET_MB:.0f} MB growth after warm-up | "
        f"{_verdict(item.growth_mb < LEAK_TARGET_MB)} |"
    )


def table(report: Report) -> str:
    """Return the Markdown table of every measurement with its target and verdict."""
    lines = [
        "| measurement | N | result | floor (same run) | % / growth | target | verdict |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    lines += [_throughput_row(item) for item in report.throughput]
    lines += [_latency_row(item) for item in report.latency]
    lines += [_memory_row(item) for item in report.memory]
    return "\n".join(lines)
