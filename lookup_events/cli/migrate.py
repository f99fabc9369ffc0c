"""``dtool-lookup migrate ...``: move an existing deployment over to this server."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import click

from lookup_events.cli.context import fail, pass_services
from lookup_events.legacy_import.importer import ImportReport, LegacyImport
from lookup_events.legacy_import.old_database import read_old_database
from lookup_events.services import Services


@click.group("migrate")
def migrate_group() -> None:
    """Move an existing deployment over to this server."""


@migrate_group.command("from-dtool-lookup-server")
@click.option(
    "--from-sql",
    "sql_url",
    required=True,
    metavar="URL",
    help="SQLAlchemy URL of the old server's database (its SQLALCHEMY_DATABASE_URI).",
)
@click.option(
    "--from-mongo",
    "mongo_url",
    metavar="URL",
    help="Copy datasets from the old server's MongoDB instead of rescanning storage.",
)
@click.option("--mongo-db", default="dtool_info", show_default=True, help="Its database.")
@click.option("--mongo-collection", default="datasets", show_default=True, help="Its collection.")
@pass_services
def from_dtool_lookup_server(
    services: Services, sql_url: str, mongo_url: str | None, mongo_db: str, mongo_collection: str
) -> None:
    """Copy users, base URIs, permissions and datasets of a dtool-lookup-server.

    Works for 0.17, 0.18 and dserver databases. Datasets are registered by
    rescanning every base URI, or with --from-mongo from the old MongoDB
    documents. What this server holds already is skipped and left as it
    is, so running the command again finishes an interrupted migration.
    """
    try:
        old = read_old_database(sql_url)
    except ValueError as ex:
        fail(str(ex))
    progress = _progress_bars(sys.stdout.isatty())
    migration = LegacyImport(
        services.admin, services.datasets, services.registrar(), progress=progress
    )
    migration.copy_admin(old)
    if mongo_url:
        _copy_from_mongo(migration, mongo_url, mongo_db, mongo_collection)
    else:
        migration.rescan(old.base_uris)
    migration.check_listed(old.dataset_uris)
    _print(migration.report)


def _copy_from_mongo(migration: LegacyImport, url: str, database: str, collection: str) -> None:
    try:
        from lookup_events.legacy_import.mongo import (  # noqa: PLC0415 (pymongo is an extra)
            info_from_document,
            old_collection,
        )
    except ImportError as ex:
        fail(f"--from-mongo needs pymongo (pip install 'dtool-lookup[mongo]'): {ex}")
    with old_collection(url, database, collection) as source:
        migration.copy_documents(source.documents, source.count, info_from_document)


def _progress_bars(on_terminal: bool) -> Callable[[Sequence[Any], str], Iterable[Any]]:
    def progress(items: Sequence[Any], label: str) -> Iterator[Any]:
        with click.progressbar(items, label=label, show_pos=True, hidden=not on_terminal) as bar:
            yield from bar

    return progress


def _print(report: ImportReport) -> None:
    """Print the failures (stderr) and one line per kind (stdout)."""
    for kind, item, reason in report.failures:
        click.secho(f"Failed ({kind}): {item}: {reason}", fg="red", err=True)
    for kind, tally in report.tallies.items():
        counts = f"{tally.copied} copied, {tally.skipped} skipped, {tally.failed} failed"
        click.echo(f"{kind[:1].upper()}{kind[1:]}: {counts}")
