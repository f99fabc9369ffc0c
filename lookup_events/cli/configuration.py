"""``dtool-lookup config ...`` and ``dtool-lookup db ...``: settings, versions, schema."""

from __future__ import annotations

import json
from typing import Any

import click

from lookup_events.cli.context import pass_services
from lookup_events.config import SETTINGS, Settings
from lookup_events.services import Services
from lookup_events.versions import component_versions


@click.group("config")
def config_group() -> None:
    """Show the configuration and the component versions."""


@config_group.command("show")
@pass_services
def show(services: Services) -> None:
    """Print the settings as JSON, keyed by environment variable, secrets hidden."""
    click.echo(json.dumps(settings_by_variable(services.settings), indent=2))


def settings_by_variable(settings: Settings) -> dict[str, Any]:
    """Return each setting under its primary environment variable name."""
    view = settings.public_view()
    return {variable.names[0]: view[variable.field] for variable in SETTINGS}


@config_group.command("versions")
def versions() -> None:
    """Print the versions /config/versions reports, as JSON."""
    click.echo(json.dumps(component_versions(), indent=2))


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@pass_services
def upgrade(services: Services) -> None:
    """Create or migrate the admin and dataset stores to the newest schema."""
    services.upgrade_schema()
