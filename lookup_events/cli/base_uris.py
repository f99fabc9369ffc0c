"""``dtool-lookup base-uri ...``: register, list and index base URIs."""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from lookup_events.cli.context import CliContext, fail, pass_cli
from lookup_events.cli.processes import open_queue
from lookup_events.errors import UnknownBaseURI
from lookup_events.queue.event_queue import EventQueue
from lookup_events.queue.publisher import Publisher
from lookup_events.registrar.batch import EventHandler
from lookup_events.registrar.indexing import IndexReport, QueueIndexer
from lookup_events.registrar.worker import RegistrarWorker
from lookup_events.registrar.writer import Registrar
from lookup_events.storage import read_dataset
from lookup_events.uris import normalise_uri


@click.group("base-uri")
def base_uri_group() -> None:
    """Manage base URIs and index the datasets in them."""


@base_uri_group.command("add")
@click.argument("base_uri")
@pass_cli
def add_base_uri(cli: CliContext, base_uri: str) -> None:
    """Register BASE_URI (a local path becomes file://<host><abspath>)."""
    base_uri = normalise_uri(base_uri)
    if not cli.admin.add_base_uri(base_uri):
        fail(f"Base URI '{base_uri}' already registered")


@base_uri_group.command("list")
@pass_cli
def list_base_uris(cli: CliContext) -> None:
    """Print every base URI with the users holding permissions on it, as JSON."""
    items = [dataclasses.asdict(item) for item in cli.admin.list_base_uris().items]
    for item in items:
        item.update({key: list(value) for key, value in item.items() if key != "base_uri"})
    click.echo(json.dumps(items, indent=2))


@base_uri_group.command("index")
@click.argument("base_uri")
@pass_cli
def index(cli: CliContext, base_uri: str) -> None:
    """Register every frozen dataset in BASE_URI, continuing past failures.

    The datasets go through the event queue and the registrar's code, so a
    failure is also dead-lettered with its reason (see `events dead`).
    """
    base_uri = normalise_uri(base_uri)
    on_terminal = sys.stdout.isatty()
    registered = failed = 0
    with open_queue(cli.settings) as queue:
        indexer = queue_indexer(cli, queue)
        try:
            events = indexer.publish(base_uri)
        except UnknownBaseURI:
            fail(f"Base URI '{base_uri}' not registered")
        with click.progressbar(
            indexer.reports(events),
            length=len(events),
            label="Indexing",
            show_pos=True,
            hidden=not on_terminal,
        ) as progress:
            for report in progress:
                if report.status == "registered":
                    registered += 1
                elif report.status == "failed":
                    failed += 1
                _report(report, on_terminal)
    click.echo(f"Registered {registered} datasets, {failed} failed")


def queue_indexer(cli: CliContext, queue: EventQueue) -> QueueIndexer:
    """Return an indexer working through ``queue`` as a registrar would."""
    admin = cli.admin
    worker = RegistrarWorker(
        queue,
        EventHandler(Registrar(admin, cli.datasets, reader=read_dataset)),
        lambda: admin.get_base_uri(""),
        store_wait=0,
        on_outcome=lambda outcome: None,  # the command reports every outcome itself
    )
    return QueueIndexer(admin, cli.datasets, worker, Publisher(queue, patience=0))


def _report(report: IndexReport, on_terminal: bool) -> None:
    """Print what became of one dataset (nothing for a skipped one)."""
    # NOTE(dev): on a terminal, clear the progress bar's line before printing over it.
    clear = "\r\x1b[K" if on_terminal else ""
    if report.status == "registered":
        click.secho(f"{clear}Registered: {report.uri}", fg="green")
    elif report.status == "failed":
        clear = clear if sys.stderr.isatty() else ""
        message = f"{clear}Failed to register: {report.uri}: {report.reason}"
        click.secho(message, fg="red", err=True)
