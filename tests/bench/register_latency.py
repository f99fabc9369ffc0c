"""Large registrations against the latency of everything else the server answers.

Serves the API as ``dtool-lookup serve --api-only`` does (one gthread worker,
four threads, the default), registers a manifest of the given size through
``POST /dataset/register`` a few times, and meanwhile sends lookups one after
another. Prints, per backend and size: the body size, each registration's
time, and the lookups' latency while registrations ran against the same
lookups on the idle server (the baseline, measured in the same run).

    .venv/bin/python -m tests.bench.register_latency                  # 85k items (~15 MiB)
    .venv/bin/python -m tests.bench.register_latency --items 20000 --backends sqlite --rounds 1
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lookup_events.store import open_stores, upgrade_database
from lookup_events.tokens import issue_token
from tests.bench.seeding import BACKENDS, temporary_database
from tests.bench.server import REPO_ROOT, free_port, server_environment, stop, wait_until_ready
from tests.support.api import key_pair
from tests.support.data import make_info
from tests.support.postgres import DEFAULT_POSTGRES_URL
from tests.support.stores import settings_for

BASE_URI = "s3://bench-large"
LOOKUP_UUID = make_info(0, BASE_URI)["uuid"]


@dataclass(frozen=True)
class Row:
    """One backend and size: what registration took and what lookups waited."""

    backend: str
    items: int
    body_mib: float
    register_s: list[float]
    idle_ms: list[float]
    busy_ms: list[float]


@contextmanager
def api_server(env: dict[str, str], log_dir: Path) -> Iterator[int]:
    """Run ``dtool-lookup serve --api-only`` (1 worker, 4 threads); yield its port."""
    port = free_port()
    log_path = log_dir / f"serve-{port}.log"
    command = [
        sys.executable, "-m", "lookup_events.cli", "serve", "--api-only", "--quiet",
        "--port", str(port), "--workers", "1", "--threads", "4",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_until_ready(port, process, log_path)
            yield port
        finally:
            stop(process)


def call(port: int, method: str, path: str, token: str, body: bytes | None = None) -> int:
    """Send one request on a new connection; return the status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def lookups(port: int, token: str, until: threading.Event, limit: int = 0) -> list[float]:
    """Time lookups one after another until ``until`` is set (or ``limit`` are done)."""
    latencies: list[float] = []
    while not until.is_set() and (not limit or len(latencies) < limit):
        started = time.perf_counter()
        status = call(port, "GET", f"/dataset/lookup/{LOOKUP_UUID}", token)
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"lookup answered {status}")
    return latencies


def measure(backend: str, items: int, rounds: int, postgres_url: str, workdir: Path) -> Row:
    """Serve a fresh database, register ``rounds`` large manifests, time lookups meanwhile."""
    keys = key_pair()
    with temporary_database(backend, workdir, postgres_url) as url:
        upgrade_database(url)
        stores = open_stores(settings_for(url, workdir))
        stores.admin.add_user("bench", False)
        stores.admin.add_base_uri(BASE_URI)
        stores.admin.set_permissions(BASE_URI, search=["bench"], register=["bench"])
        stores.close()
        env = server_environment(
            {
                "DTOOL_LOOKUP_DATA_DIR": str(workdir),
                "DTOOL_LOOKUP_DATABASE_URL": url,
                "JWT_PUBLIC_KEY": keys.public_pem,
            }
        )
        token = issue_token(keys.private_pem, "bench", expires_in=None)
        with api_server(env, workdir) as port:
            small = json.dumps(make_info(0, BASE_URI)).encode()
            assert call(port, "POST", "/dataset/register", token, small) == 201
            idle = lookups(port, token, threading.Event(), limit=200)
            register_s, busy = _during_registrations(port, token, items, rounds)
    body = json.dumps(make_info(1, BASE_URI, items=items)).encode()
    return Row(backend, items, len(body) / 2**20, register_s, idle, busy)


def _during_registrations(
    port: int, token: str, items: int, rounds: int
) -> tuple[list[float], list[float]]:
    body = json.dumps(make_info(1, BASE_URI, items=items)).encode()
    done = threading.Event()
    busy: list[float] = []
    worker = threading.Thread(target=lambda: busy.extend(lookups(port, token, done)))
    worker.start()
    times: list[float] = []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            status = call(port, "POST", "/dataset/register", token, body)
            times.append(time.perf_counter() - started)
            if status != 201:
                raise RuntimeError(f"registration answered {status}")
    finally:
        done.set()
        worker.join()
    return times, busy


def render(rows: list[Row]) -> str:
    """Return the Markdown table of the rows."""
    lines = [
        "| backend | items | body MiB | register s (each) | lookups idle: median / max ms "
        "| during registration: n, median / p99 / max ms | max / idle max |",
        "|---|---:|---:|---|---|---|---:|",
    ]
    for row in rows:
        busy = sorted(row.busy_ms)
        p99 = busy[int(0.99 * (len(busy) - 1))]
        lines.append(
            f"| {row.backend} | {row.items:,} | {row.body_mib:.1f} "
            f"| {', '.join(f'{t:.2f}' for t in row.register_s)} "
            f"| {statistics.median(row.idle_ms):.1f} / {max(row.idle_ms):.1f} "
            f"| {len(busy)}, {statistics.median(busy):.1f} / {p99:.1f} / {max(busy):.1f} "
            f"| {max(busy) / max(row.idle_ms):.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[85_000])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("DTOOL_LOOKUP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
    )
    options = parser.parse_args(argv)
    rows = []
    for backend in options.backends:
        for items in options.items:
            with tempfile.TemporaryDirectory() as workdir:
                print(f"{backend}, {items:,} items ...", file=sys.stderr)
                rows.append(
                    measure(backend, items, options.rounds, options.postgres_url, Path(workdir))
                )
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
