"""``dtool-lookup graph ...``: the dependency links the graph routes walk."""

from __future__ import annotations

import click

from lookup_events.cli.context import pass_services
from lookup_events.services import Services


@click.group("graph")
def graph_group() -> None:
    """Manage the dependency links kept for the /graph routes."""


@graph_group.command("rebuild")
@pass_services
def rebuild(services: Services) -> None:
    """Recompute every dataset's dependency links from its README and annotations.

    The registrar keeps the links of each dataset it writes, and the SQL
    schema upgrade fills them for datasets registered before; run this on a
    MongoDB dataset store after upgrading, or after changing which UUIDs
    count as links.
    """
    count = services.datasets.rebuild_dependencies()
    click.echo(f"Rebuilt the dependency links of {count} datasets")
