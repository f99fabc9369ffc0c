"""A click group with hidden 0.18 spellings of its commands and one error boundary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from lookup_events.cli.context import CommandFailed
from lookup_events.errors import (
    DatabaseUnavailable,
    DatasetStorageUnavailable,
    QueueUnavailable,
    SetupError,
)


class LookupGroup(click.Group):
    """A command group that also answers to hidden aliases (``base_uri``)."""

    def __init__(self, *args: Any, aliases: Mapping[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.aliases = dict(aliases or {})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the command named ``cmd_name`` or by one of its aliases."""
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Resolve as click does, but report the canonical name of an alias."""
        _, command, rest = super().resolve_command(ctx, args)
        return (command.name if command else None), command, rest

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; an outage or a setup problem becomes its message and exit 1."""
        try:
            return super().invoke(ctx)
        except (
            DatabaseUnavailable,
            DatasetStorageUnavailable,
            QueueUnavailable,
            SetupError,
        ) as ex:
            raise CommandFailed(str(ex)) from ex
