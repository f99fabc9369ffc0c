"""Benchmark results, the issue's performance targets, and the Markdown table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tests.bench.loaders import LoadResult, Probe

RSS_LIMIT_MB = 150.0
# The loaded search again, served by as many workers as the machine has cores.
POOLED_SEARCH = "POST /dataset/search, 1 worker a core"


@dataclass(frozen=True)
class Measurement:
    """One endpoint's load run, the probe before it, and the baseline it is compared with.

    ``baseline_rps`` is the mean of the bare runs just before and just after
    this one (0 for a bare run itself).
    """

    endpoint: str
    result: LoadResult
    probe: Probe
    baseline_rps: float = 0.0


@dataclass(frozen=True)
class SeedResult:
    """How long seeding took: everything, and the part inside ``upsert_many``."""

    datasets: int
    seconds: float
    store_seconds: float

    @property
    def rate(self) -> float:
        """Datasets seeded per second, wall clock."""
        return self.datasets / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Group:
    """Everything measured for one backend at one size, with its own baseline."""

    backend: str
    size: int
    seed: SeedResult
    bare_runs: list[Measurement]
    bare_rss_mb: float
    measurements: list[Measurement]
    rss_mb: float
    peak_rss_mb: float
    single_runs: list[Measurement] = field(default_factory=list)

    def single_run(self, endpoint: str) -> Measurement | None:
        """Return the one-connection run of ``endpoint``, if there was one."""
        return next((run for run in self.single_runs if run.endpoint == endpoint), None)

    @property
    def bare_rps(self) -> list[float]:
        """Return the requests/s of every bare run, in order."""
        return [run.result.requests_per_second for run in self.bare_runs]


@dataclass(frozen=True)
class Report:
    """A whole benchmark run."""

    loader: str
    connections: int
    duration: float
    machine: str
    groups: list[Group] = field(default_factory=list)


@dataclass(frozen=True)
class Goal:
    """One target of the issue: a description and a check on a measurement.

    A latency goal (``one_client``) is checked on the endpoint's run with one
    connection: under the loaded run's 8 connections a request to the one
    sync worker waits for those queued before it (see README.md here).
    """

    text: str
    met: Callable[[LoadResult, float], bool]
    one_client: bool = False


GOALS: dict[str, Goal] = {
    "GET /dataset/lookup/<uuid>": Goal("≥ 80% of bare req/s", lambda r, pct: pct >= 80.0),
    "GET /uuids/<uuid>": Goal("≥ 80% of bare req/s", lambda r, pct: pct >= 80.0),
    "GET /dataset/list?page=P": Goal("≥ 50% of bare req/s", lambda r, pct: pct >= 50.0),
    "GET /dataset/list?page=P&page_size=100": Goal(
        "≥ 50% of bare req/s", lambda r, pct: pct >= 50.0
    ),
    "POST /dataset/search": Goal(
        "p99 < 50 ms, 1 client", lambda r, pct: r.p99_ms < 50.0, one_client=True
    ),
    POOLED_SEARCH: Goal("p99 < 100 ms, 8 conn., 1 worker a core", lambda r, pct: r.p99_ms < 100.0),
    "GET /dataset/summary": Goal(
        "p99 < 250 ms, 1 client", lambda r, pct: r.p99_ms < 250.0, one_client=True
    ),
}


def percent_of(measurement: Measurement) -> float:
    """Return the run's req/s as a percentage of its bracketing baseline's."""
    base = measurement.baseline_rps
    return 100.0 * measurement.result.requests_per_second / base if base > 0 else 0.0


def verdict(
    measurement: Measurement, rss_mb: float, single: Measurement | None = None
) -> tuple[str, str]:
    """Return the target text and ``pass`` or ``FAIL: <why>`` for one measurement.

    ``single`` is the endpoint's one-connection run, which latency goals judge.
    """
    goal = GOALS.get(measurement.endpoint)
    result = measurement.result
    failures = []
    runs = [result] if single is None else [result, single.result]
    if not measurement.probe.all_ok or any(
        run.non_2xx or run.socket_errors or not run.requests for run in runs
    ):
        failures.append("errors")
    if goal is not None:
        judged = single if goal.one_client else measurement
        if judged is None:
            failures.append("no 1-client run")
        elif not goal.met(judged.result, percent_of(measurement)):
            failures.append("target")
    if rss_mb >= RSS_LIMIT_MB:
        failures.append("RSS")
    text = f"{goal.text if goal else '-'}; RSS < {RSS_LIMIT_MB:.0f} MB"
    return text, "FAIL: " + ", ".join(failures) if failures else "pass"


_HEADER = (
    "| backend | N | endpoint | req/s | % of bare | p50 ms | p99 ms | 1 client p50 / p99 ms "
    "| errors | worker RSS MB | target | result |\n"
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
)


def _errors(measurement: Measurement) -> int:
    probe_bad = sum(n for status, n in measurement.probe.statuses.items() if status != 200)
    result = measurement.result
    return probe_bad + result.non_2xx + result.socket_errors


def _single_cell(single: Measurement | None) -> str:
    if single is None:
        return "-"
    return f"{single.result.p50_ms:.1f} / {single.result.p99_ms:.1f}"


def results_table(groups: Sequence[Group]) -> str:
    """Return the Markdown table of every endpoint, baselines included."""
    lines = [_HEADER]
    for group in groups:
        lines.append(_bare_row(group))
        for measurement in group.measurements:
            single = group.single_run(measurement.endpoint)
            errors = _errors(measurement) + (_errors(single) if single else 0)
            row = _row(
                group,
                measurement,
                rate=f"{measurement.result.requests_per_second:,.0f}",
                percent=f"{percent_of(measurement):.0f}%",
                single=_single_cell(single),
                errors=errors,
                rss_mb=group.rss_mb,
                judged=verdict(measurement, group.rss_mb, single),
            )
            lines.append(row)
    return "\n".join(lines)


def _bare_row(group: Group) -> str:
    """Return the baseline's row: mean req/s and range of its runs, latency of the first."""
    runs = group.bare_rps
    spread = f"{len(runs)} runs, {min(runs):,.0f} to {max(runs):,.0f}"
    return _row(
        group,
        group.bare_runs[0],
        rate=f"{sum(runs) / len(runs):,.0f} ({spread})",
        percent="100%",
        single="-",
        errors=sum(_errors(run) for run in group.bare_runs),
        rss_mb=group.bare_rss_mb,
        judged=("baseline", "-"),
    )


def _row(
    group: Group,
    measurement: Measurement,
    *,
    rate: str,
    percent: str,
    single: str,
    errors: int,
    rss_mb: float,
    judged: tuple[str, str],
) -> str:
    """Return one table row; ``judged`` is the target text and the outcome."""
    result = measurement.result
    cells = (
        group.backend,
        f"{group.size:,}",
        f"`{measurement.endpoint}`",
        rate,
        percent,
        f"{result.p50_ms:.1f}",
        f"{result.p99_ms:.1f}",
        single,
        str(errors),
        f"{rss_mb:.0f}",
        *judged,
    )
    return "| " + " | ".join(cells) + " |"


def seeding_table(groups: Sequence[Group]) -> str:
    """Return the Markdown table of seeding times and worker memory."""
    lines = [
        "| backend | N | seed s | datasets/s | in upsert_many s | worker RSS MB | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for group in groups:
        seed = group.seed
        lines.append(
            f"| {group.backend} | {group.size:,} | {seed.seconds:.1f} | {seed.rate:,.0f} "
            f"| {seed.store_seconds:.1f} | {group.rss_mb:.0f} | {group.peak_rss_mb:.0f} |"
        )
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    """Return the whole report as Markdown."""
    return (
        "## API benchmark\n\n"
        f"Loader: **{report.loader}**, {report.connections} connections, "
        f"{report.duration:g} s per endpoint; gunicorn, 1 sync worker, 127.0.0.1. "
        "The bare endpoint is loaded before and after every endpoint, and each "
        "percentage is against the mean of the two bare runs around it. Each API endpoint "
        "is then loaded again from 1 connection with requests the loaded run did not make "
        "(first-time answers, no queueing); latency targets are judged on that run.\n"
        f"Machine: {report.machine}.\n\n"
        f"{results_table(report.groups)}\n\n"
        f"{seeding_table(report.groups)}\n"
    )


def all_answered(report: Report) -> bool:
    """Tell whether every probed and loaded request answered 2xx."""
    measurements = [
        m for g in report.groups for m in [*g.bare_runs, *g.measurements, *g.single_runs]
    ]
    return all(_errors(m) == 0 and m.result.requests > 0 for m in measurements)
