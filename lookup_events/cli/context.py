"""What every command shares: the process's services, and how a command fails."""

from __future__ import annotations

from typing import Any, NoReturn

import click

from lookup_events.services import Services


class CommandFailed(click.ClickException):
    """A command could not do what was asked; the message goes to stderr, exit 1."""

    def show(self, file: Any = None) -> None:
        """Print the bare message in red, as the 0.18 ``flask`` commands did."""
        click.secho(self.format_message(), fg="red", err=True)


def fail(message: str) -> NoReturn:
    """Stop the command with ``message`` on stderr and exit code 1."""
    raise CommandFailed(message)


#: Hands a command the run's ``Services``, made from the environment on first use.
pass_services = click.make_pass_decorator(Services, ensure=True)
