"""What a database costs on disk: each table and index, in total and per dataset.

Run: ``.venv/bin/python -m tests.bench.db_size --folder /work/bench-data
--sizes 100000,1000000`` over the kept databases (``kept.py``); SQLite sizes
come from ``dbstat`` (pages in use), PostgreSQL's from ``pg_relation_size``
of each table, its TOAST table and each index. Prints one Markdown table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import click
import psycopg
from sqlalchemy.engine import make_url

from tests.bench.kept import DEFAULT_POSTGRES_URL, kept_database
from tests.bench.prose import ProseCorpus
from tests.bench.seeding import BACKENDS
from tests.support.postgres import libpq_dsn

# Objects of PostgreSQL's public schema with their own files: tables, indexes, TOAST.
_PG_SIZES = """
SELECT coalesce(t.relname, c.relname), sum(pg_relation_size(c.oid))
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class t ON t.reltoastrelid = c.oid
WHERE (n.nspname = 'public' AND c.relkind IN ('r', 'i'))
   OR (n.nspname = 'pg_toast' AND c.relkind = 't' AND t.oid IS NOT NULL)
GROUP BY 1
"""
_PG_TOAST_INDEXES = """
SELECT t.relname, sum(pg_relation_size(i.indexrelid))
FROM pg_class t JOIN pg_index i ON i.indrelid = t.reltoastrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' GROUP BY 1
"""


def sqlite_sizes(path: str) -> dict[str, int]:
    """Return the bytes each table and index of an SQLite file uses."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")
        return {str(name): int(size) for name, size in rows}


def postgres_sizes(url: str) -> dict[str, int]:
    """Return the bytes each table (heap + TOAST) and index of a database uses."""
    with psycopg.connect(libpq_dsn(url)) as connection:
        sizes = {str(name): int(size) for name, size in connection.execute(_PG_SIZES)}
        for name, size in connection.execute(_PG_TOAST_INDEXES):
            sizes[str(name)] = sizes.get(str(name), 0) + int(size)
        return sizes


def size_rows(backend: str, size: int, sizes: dict[str, int], top: int) -> list[str]:
    """Return Markdown rows: the total, then the ``top`` largest objects."""
    total = sum(sizes.values())
    rows = [f"| {backend} | {size:,} | **total** | {total / 1e6:,.0f} | {total / size:,.0f} |"]
    for name, used in sorted(sizes.items(), key=lambda item: -item[1])[:top]:
        rows.append(f"| {backend} | {size:,} | {name} | {used / 1e6:,.0f} | {used / size:,.0f} |")
    return rows


def report(
    folder: Path, sizes: Sequence[int], backends: Sequence[str], postgres_url: str, top: int
) -> str:
    """Return the table of every kept database of ``sizes`` on ``backends``."""
    lines = [
        "| store | datasets | table or index | MB | bytes a dataset |",
        "|---|---:|---|---:|---:|",
    ]
    for backend in backends:
        for size in sizes:
            kept = kept_database(backend, ProseCorpus(size), folder, postgres_url)
            if backend == "sqlite":
                found = sqlite_sizes(str(make_url(kept.url).database))
            else:
                found = postgres_sizes(kept.url)
            lines.extend(size_rows(backend, size, found, top))
    return "\n".join(lines)


@click.command()
@click.option("--folder", type=click.Path(path_type=Path), required=True)
@click.option("--sizes", default="100000,1000000", show_default=True)
@click.option("--backends", default=",".join(BACKENDS), show_default=True)
@click.option("--postgres-url", default=DEFAULT_POSTGRES_URL, show_default=True)
@click.option("--top", default=12, show_default=True, help="Largest objects listed.")
def main(folder: Path, sizes: str, backends: str, postgres_url: str, top: int) -> None:
    """Print the size of each kept database by table and index."""
    sized = [int(size) for size in sizes.split(",")]
    print(report(folder, sized, backends.split(","), postgres_url, top))


if __name__ == "__main__":
    main()
