"""Benchmark the lookup API against a bare Falcon app (issue 2's targets).

Run: ``.venv/bin/python -m tests.bench.api_bench --sizes 10000,100000
--backends sqlite,postgres --duration 5 --connections 8``. See README.md here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import random
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import click

from lookup_events.keys import embedded_key_pair
from lookup_events.tokens import issue_token
from tests.bench.kept import kept_database, seed_kept
from tests.bench.loaders import Loader, Probe, check_bounds, probe, select_loader
from tests.bench.prose import ProseCorpus
from tests.bench.report import (
    POOLED_SEARCH,
    Group,
    Measurement,
    Report,
    SeedResult,
    render_markdown,
)
from tests.bench.seeding import BACKENDS, seed, temporary_database
from tests.bench.server import gunicorn, server_environment
from tests.bench.synthetic import Corpus
from tests.bench.workload import (
    Target,
    api_targets,
    bare_target,
    search_target,
    single_client_targets,
)

USERNAME = "bench-user"
API_APP = "lookup_api.wsgi:app"
BARE_APP = "tests.bench.bare_app:app"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TOKEN_LIFETIME_S = 24 * 3600

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    """What to benchmark and how hard."""

    sizes: tuple[int, ...] = (10_000, 100_000)
    backends: tuple[str, ...] = BACKENDS
    duration: float = 5.0
    connections: int = 8
    loader: str = "auto"
    postgres_url: str = DEFAULT_POSTGRES_URL
    seed: int = 2026
    corpus: str = "prose"
    # Seed into kept databases here (``kept.py``), resuming, instead of fresh ones.
    keep_in: Path | None = None

    def make_corpus(self, size: int) -> Corpus:
        """Return the corpus of ``size`` datasets this run seeds and asks for."""
        return (ProseCorpus if self.corpus == "prose" else Corpus)(size, self.seed)


@dataclass(frozen=True)
class Session:
    """What every group of one run shares: loader, credentials, scratch space."""

    options: Options
    loader: Loader
    public_key: str
    headers: Mapping[str, str]
    scratch: Path
    progress: Progress


def run_benchmark(options: Options, progress: Progress = lambda message: None) -> Report:
    """Seed, serve and load every backend at every size; return the report."""
    check_bounds(options.duration, options.connections)
    loader = select_loader(options.loader)
    with tempfile.TemporaryDirectory(prefix="dtool-lookup-bench-") as folder:
        scratch = Path(folder)
        keys = embedded_key_pair(scratch / "keys")
        token = issue_token(keys.private_pem, USERNAME, expires_in=TOKEN_LIFETIME_S)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        session = Session(options, loader, keys.public_pem, headers, scratch, progress)
        report = Report(
            loader=f"{loader.name} ({loader.version()})",
            connections=options.connections,
            duration=options.duration,
            machine=describe_machine(),
        )
        for backend in options.backends:
            for size in options.sizes:
                report.groups.append(run_group(session, backend, size))
    return report


def run_group(session: Session, backend: str, size: int) -> Group:
    """Seed one database, then measure the baseline and the API on it."""
    options = session.options
    workdir = session.scratch / f"{backend}-{size}"
    workdir.mkdir()
    corpus = options.make_corpus(size)
    with seeded_database(session, backend, corpus, workdir) as (url, seeded):
        session.progress(f"{backend} N={size:,}: seeded in {seeded.seconds:.1f} s")
        env = server_environment(
            {
                "DTOOL_LOOKUP_DATABASE_URL": url,
                "JWT_PUBLIC_KEY": session.public_key,
                "DTOOL_LOOKUP_DATA_DIR": str(workdir),
            }
        )
        with gunicorn(BARE_APP, env, workdir) as bare, gunicorn(API_APP, env, workdir) as api:
            targets = api_targets(corpus)
            bare_runs, measurements = bracketed(session, bare.port, api.port, targets)
            singles = [
                measure(session, api.port, target, connections=1)
                for target in single_client_targets(corpus)
            ]
            bare_rss, _ = bare.worker_memory_mb()
            rss, peak = api.worker_memory_mb()
        measurements.append(pooled_search(session, env, workdir, corpus, bare_runs))
    return Group(backend, size, seeded, bare_runs, bare_rss, measurements, rss, peak, singles)


@contextlib.contextmanager
def seeded_database(
    session: Session, backend: str, corpus: Corpus, workdir: Path
) -> Iterator[tuple[str, SeedResult]]:
    """Yield the URL of a seeded database: a fresh one, or a kept one (resumed)."""
    options = session.options
    session.progress(f"{backend} N={corpus.size:,}: seeding")
    if options.keep_in is not None:
        kept = kept_database(backend, corpus, options.keep_in, options.postgres_url)
        yield kept.url, seed_kept(kept, workdir, corpus, USERNAME, progress=session.progress)
        return
    with temporary_database(backend, workdir, options.postgres_url) as url:
        yield url, seed(url, workdir, corpus, USERNAME)


def pooled_search(
    session: Session,
    env: Mapping[str, str],
    workdir: Path,
    corpus: Corpus,
    bare_runs: list[Measurement],
) -> Measurement:
    """Load the search again, from all connections, on one worker a core (fresh caches)."""
    workers = os.cpu_count() or 1
    with gunicorn(API_APP, env, workdir, workers=workers) as api:
        target = search_target(random.Random(f"pooled:{corpus.seed}"))
        measured = measure(session, api.port, target)
    rates = [run.result.requests_per_second for run in bare_runs]
    return dataclasses.replace(
        measured, endpoint=POOLED_SEARCH, baseline_rps=sum(rates) / len(rates)
    )


def bracketed(
    session: Session, bare_port: int, api_port: int, targets: list[Target]
) -> tuple[list[Measurement], list[Measurement]]:
    """Load the bare app before and after each target; compare each with its two neighbours.

    The machine is shared, so its speed drifts within a run; a baseline
    taken right around each measurement follows that drift.
    """
    bare_runs = [measure(session, bare_port, bare_target())]
    measurements = []
    for target in targets:
        measured = measure(session, api_port, target)
        bare_runs.append(measure(session, bare_port, bare_target()))
        around = [run.result.requests_per_second for run in bare_runs[-2:]]
        measurements.append(dataclasses.replace(measured, baseline_rps=sum(around) / 2))
    return bare_runs, measurements


def measure(
    session: Session, port: int, target: Target, connections: int | None = None
) -> Measurement:
    """Load one endpoint for the set duration (probing and warming it first under load).

    With ``connections=1`` there is no probe: its requests would be answered
    from the cache during the run (the run's own answers are still counted).
    """
    options = session.options
    connections = connections or options.connections
    checked = Probe()
    if connections > 1:
        checked = probe(port, target, session.headers)
        session.progress(
            f"  {target.endpoint}: probe statuses {dict(checked.statuses)}, "
            f"first answer has {checked.first_items} items; loading"
        )
    result = session.loader.run(port, target, session.headers, options.duration, connections)
    session.progress(
        f"  {target.endpoint} ({connections} conn.): {result.requests_per_second:,.0f} req/s, "
        f"p99 {result.p99_ms:.1f} ms"
    )
    return Measurement(target.endpoint, result, checked)


def describe_machine() -> str:
    """Describe the CPU count and load, which shape every figure."""
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} CPUs, load average {load:.2f} at start, Python "
        f"{platform.python_version()}; figures taken while the machine may be shared"
    )


def _int_list(_ctx: object, _param: object, value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in value.split(",") if part)
    except ValueError:
        raise click.BadParameter("give comma-separated integers, e.g. 10000,100000") from None
    if not sizes or min(sizes) < 1:
        raise click.BadParameter("sizes must be positive")
    return sizes


def _backend_list(_ctx: object, _param: object, value: str) -> tuple[str, ...]:
    backends = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = set(backends) - set(BACKENDS)
    if unknown or not backends:
        raise click.BadParameter(f"choose from {', '.join(BACKENDS)}")
    return backends


@click.command()
@click.option("--sizes", default="10000,100000", callback=_int_list, help="Dataset counts.")
@click.option("--backends", default="sqlite,postgres", callback=_backend_list)
@click.option("--duration", default=5.0, show_default=True, help="Seconds per endpoint.")
@click.option("--connections", default=8, show_default=True, help="Concurrent connections.")
@click.option("--loader", type=click.Choice(["auto", "wrk", "python"]), default="auto")
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, show_default=True)
@click.option("--corpus", type=click.Choice(["prose", "classic"]), default="prose")
@click.option(
    "--keep-in",
    type=click.Path(path_type=Path),
    help="Seed kept databases in this folder (resuming) instead of fresh ones.",
)
@click.option("--output", type=click.Path(path_type=Path), help="Also write the Markdown here.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Raw results.")
def main(
    *,
    sizes: tuple[int, ...],
    backends: tuple[str, ...],
    duration: float,
    connections: int,
    loader: str,
    postgres_url: str,
    corpus: str,
    keep_in: Path | None,
    output: Path | None,
    json_path: Path | None,
) -> None:
    """Seed synthetic datasets, serve the API with gunicorn and load it."""
    options = Options(
        sizes,
        backends,
        duration,
        connections,
        loader,
        postgres_url,
        corpus=corpus,
        keep_in=keep_in,
    )
    report = run_benchmark(options, progress=lambda message: click.echo(message, err=True))
    markdown = render_markdown(report)
    click.echo(markdown)
    if output is not None:
        output.write_text(markdown)
    if json_path is not None:
        json_path.write_text(json.dumps(dataclasses.asdict(report), indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
