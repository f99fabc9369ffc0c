"""``dtool-lookup base-uri ...``: register, list and index base URIs."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter

import click

from lookup_events.cli.context import fail, pass_services
from lookup_events.registrar.indexing import IndexReport, QueueIndexer, Result
from lookup_events.services import Services
from lookup_events.sources.listing import index_events
from lookup_events.store.actors import Actor
from lookup_events.uris import normalise_uri


@click.group("base-uri")
def base_uri_group() -> None:
    """Manage base URIs and index the datasets in them."""


@base_uri_group.command("add")
@click.argument("base_uri")
@pass_services
def add_base_uri(services: Services, base_uri: str) -> None:
    """Register BASE_URI (a local path becomes file://<host><abspath>)."""
    base_uri = normalise_uri(base_uri)
    if not services.admin.add_base_uri(base_uri, Actor.command("base-uri add")):
        fail(f"Base URI '{base_uri}' already registered")


@base_uri_group.command("list")
@pass_services
def list_base_uris(services: Services) -> None:
    """Print every base URI with the users holding permissions on it, as JSON."""
    items = [dataclasses.asdict(item) for item in services.admin.list_base_uris().items]
    for item in items:
        item.update({key: list(value) for key, value in item.items() if key != "base_uri"})
    click.echo(json.dumps(items, indent=2))


@base_uri_group.command("index")
@click.argument("base_uri")
@pass_services
def index(services: Services, base_uri: str) -> None:
    """Register every frozen dataset in BASE_URI, continuing past failures.

    The datasets go through the event queue and the registrar's code, so a
    failure is also dead-lettered with its reason (see `events dead`).
    """
    base_uri = normalise_uri(base_uri)
    if services.admin.get_base_uri(base_uri) is None:
        fail(f"Base URI '{base_uri}' not registered")
    on_terminal = sys.stdout.isatty()
    events = index_events(base_uri)
    services.publisher(patience=0).publish_many(events)
    tally = Counter[Result]()
    with click.progressbar(
        queue_indexer(services).reports(events),
        length=len(events),
        label="Indexing",
        show_pos=True,
        hidden=not on_terminal,
    ) as progress:
        for report in progress:
            tally[report.result] += 1
            _report(report, on_terminal)
    registered, failed = tally[Result.REGISTERED], tally[Result.FAILED]
    click.echo(f"Registered {registered} datasets, {failed} failed")


def queue_indexer(services: Services) -> QueueIndexer:
    """Return an indexer working through the event queue as a registrar would."""
    worker = services.registrar_worker(
        store_wait=0,
        on_outcome=lambda outcome: None,  # the command reports every outcome itself
    )
    return QueueIndexer(services.datasets, services.registrar(), worker)


def _report(report: IndexReport, on_terminal: bool) -> None:
    """Print what became of one dataset (nothing for a skipped one)."""
    # NOTE(dev): on a terminal, clear the progress bar's line before printing over it.
    clear = "\r\x1b[K" if on_terminal else ""
    if report.result is Result.REGISTERED:
        click.secho(f"{clear}Registered: {report.uri}", fg="green")
    elif report.result is Result.FAILED:
        clear = clear if sys.stderr.isatty() else ""
        message = f"{clear}Failed to register: {report.uri}: {report.reason}"
        click.secho(message, fg="red", err=True)
