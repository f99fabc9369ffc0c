"""The ``dtool-lookup`` command line (click); ``main`` is the console script."""

from __future__ import annotations

import click

from lookup_events.cli.audit import audit_group
from lookup_events.cli.base_uris import base_uri_group
from lookup_events.cli.configuration import config_group, db_group
from lookup_events.cli.events import events_group
from lookup_events.cli.graph import graph_group
from lookup_events.cli.group import LookupGroup
from lookup_events.cli.migrate import migrate_group
from lookup_events.cli.processes import registrar, s3_events, watch
from lookup_events.cli.serve import serve
from lookup_events.cli.subscriptions import deliver, subscriptions_group
from lookup_events.cli.users import user_group
from lookup_events.services import Services


@click.group(cls=LookupGroup, aliases={"base_uri": "base-uri"})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Look up dtool datasets: manage users, base URIs and the server."""
    services = ctx.ensure_object(Services)
    ctx.call_on_close(services.close)


_COMMANDS = (user_group, base_uri_group, config_group, db_group, serve, events_group, audit_group)
_SUBSCRIPTIONS = (subscriptions_group, deliver)
_MAINTENANCE = (migrate_group, graph_group)
for _command in (*_COMMANDS, registrar, watch, s3_events, *_MAINTENANCE, *_SUBSCRIPTIONS):
    main.add_command(_command)

__all__ = ["main"]
