"""The largest manifest a dataset registered from storage can have: time and memory.

For each size N: a real dataset frozen with dtoolcore on disk, whose
``.dtool/manifest.json`` is then rewritten to hold N items (the registrar
reads the manifest; it never opens the items). A fresh deployment registers
its base URI and runs ``dtool-lookup base-uri index`` in a child process,
the path events and rescans take (event queue, registrar, store). Prints
the child's wall time and peak resident memory, and checks the stored
record holds all N items.

    .venv/bin/python -m tests.bench.storage_manifest                     # 100k, 300k, 1M; SQLite
    .venv/bin/python -m tests.bench.storage_manifest --items 10000 --backends sqlite postgres
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lookup_events.store import open_stores, upgrade_database
from tests.bench.seeding import BACKENDS, temporary_database
from tests.bench.server import REPO_ROOT, server_environment
from tests.support.datasets import make_dataset
from tests.support.postgres import DEFAULT_POSTGRES_URL
from tests.support.stores import settings_for


@dataclass(frozen=True)
class Row:
    """One backend and size: the index command's cost and what was stored."""

    backend: str
    items: int
    manifest_mib: float
    seconds: float
    peak_rss_mib: float
    stored_items: int
    output: str


def large_dataset(base: Path, items: int) -> tuple[str, int]:
    """Freeze a dataset with dtoolcore, then give it ``items`` manifest items."""
    uri = make_dataset(base, "large")
    manifest_path = base / "large" / ".dtool" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["items"] = {
        f"{n:040x}": {
            "hash": f"{n:032x}",
            "relpath": f"data/run_{n // 1000:04d}/sample_{n:07d}.csv",
            "size_in_bytes": 1000 + n,
            "utc_timestamp": 1600000000.0 + n,
        }
        for n in range(items)
    }
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return uri, manifest_path.stat().st_size


def index_child(env: dict[str, str], base_uri: str) -> tuple[float, float, str]:
    """Run ``base-uri index`` in a child; return wall seconds, its peak RSS (MiB), output."""
    command = [sys.executable, "-m", "lookup_events.cli", "base-uri", "index", base_uri]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"index failed:\n{output}")
    return seconds, usage.ru_maxrss / 1024, output.strip().splitlines()[-1]


def measure(backend: str, items: int, postgres_url: str, workdir: Path) -> Row:
    """Index one dataset of ``items`` items into a fresh deployment."""
    uri, manifest_bytes = large_dataset(workdir / "data", items)
    base_uri = uri.rsplit("/", 1)[0]
    with temporary_database(backend, workdir, postgres_url) as url:
        upgrade_database(url)
        stores = open_stores(settings_for(url, workdir))
        stores.admin.add_base_uri(base_uri)
        stores.close()
        env = server_environment(
            {"DTOOL_LOOKUP_DATA_DIR": str(workdir), "DTOOL_LOOKUP_DATABASE_URL": url}
        )
        seconds, rss, output = index_child(env, base_uri)
        stores = open_stores(settings_for(url, workdir))
        try:
            record = stores.datasets.get(uri)
        finally:
            stores.close()
    stored = len(record.manifest["items"]) if record is not None else 0
    return Row(backend, items, manifest_bytes / 2**20, seconds, rss, stored, output)


def render(rows: list[Row]) -> str:
    """Return the Markdown table of the rows."""
    lines = [
        "| backend | items | manifest.json MiB | index s | peak RSS MiB | items stored | report |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r.backend} | {r.items:,} | {r.manifest_mib:.0f} | {r.seconds:.1f} "
        f"| {r.peak_rss_mib:,.0f} | {r.stored_items:,} | {r.output} |"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=["sqlite"])
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
                rows.append(measure(backend, items, options.postgres_url, Path(workdir)))
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
