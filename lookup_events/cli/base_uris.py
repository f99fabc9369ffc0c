"""``dtool-lookup base-uri ...``: register, list and index base URIs."""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from lookup_events.cli.context import CliContext, fail, pass_cli
from lookup_events.errors import UnknownBaseURI
from lookup_events.registrar import IndexOutcome
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
    """Register every frozen dataset in BASE_URI, continuing past failures."""
    base_uri = normalise_uri(base_uri)
    on_terminal = sys.stdout.isatty()
    registered = failed = 0
    outcomes = cli.registrar().index_base_uri(base_uri)
    try:
        with click.progressbar(
            outcomes, label="Indexing", show_pos=True, hidden=not on_terminal
        ) as progress:
            for outcome in progress:
                if _report(outcome, on_terminal):
                    registered += 1
                else:
                    failed += 1
    except UnknownBaseURI:
        fail(f"Base URI '{base_uri}' not registered")
    click.echo(f"Registered {registered} datasets, {failed} failed")


def _report(outcome: IndexOutcome, on_terminal: bool) -> bool:
    """Print what became of one dataset; True if it is registered."""
    # NOTE(dev): on a terminal, clear the progress bar's line before printing over it.
    clear = "\r\x1b[K" if on_terminal else ""
    if outcome.registered is not None:
        click.secho(f"{clear}Registered: {outcome.uri}", fg="green")
        return True
    clear = clear if sys.stderr.isatty() else ""
    click.secho(f"{clear}Failed to register: {outcome.uri}: {outcome.error}", fg="red", err=True)
    return False
