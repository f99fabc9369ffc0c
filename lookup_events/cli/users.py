"""``dtool-lookup user ...``: users, their permissions and their tokens."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from lookup_events.cli.context import fail, pass_services
from lookup_events.cli.group import LookupGroup
from lookup_events.errors import SetupError
from lookup_events.services import Services
from lookup_events.store.actors import Actor
from lookup_events.store.protocols import PermissionKind
from lookup_events.tokens import issue_token
from lookup_events.uris import normalise_uri

F = TypeVar("F", bound=Callable[..., Any])


@click.group(
    "user",
    cls=LookupGroup,
    aliases={
        "search_permission": "search-permission",
        "register_permission": "register-permission",
    },
)
def user_group() -> None:
    """Manage users, their permissions and their tokens."""


def admin_flag(func: F) -> F:
    """Add ``-a/--is-admin`` and its hidden 0.18 spelling ``--is_admin``."""
    func = click.option("--is_admin", "legacy_is_admin", is_flag=True, hidden=True)(func)
    return click.option("-a", "--is-admin", "is_admin", is_flag=True, help="Make an admin.")(func)


@user_group.command("add")
@admin_flag
@click.argument("username")
@pass_services
def add_user(services: Services, username: str, is_admin: bool, legacy_is_admin: bool) -> None:
    """Register USERNAME."""
    if not services.admin.add_user(
        username, is_admin or legacy_is_admin, Actor.command("user add")
    ):
        fail(f"User '{username}' already registered")


@user_group.command("update")
@admin_flag
@click.argument("username")
@pass_services
def update_user(services: Services, username: str, is_admin: bool, legacy_is_admin: bool) -> None:
    """Set whether USERNAME is an admin (without the flag: not an admin)."""
    if services.admin.get_user(username) is None:
        fail(f"User '{username}' is not registered yet")
    services.admin.put_user(username, is_admin or legacy_is_admin, Actor.command("user update"))


@user_group.command("delete")
@click.argument("username")
@pass_services
def delete_user(services: Services, username: str) -> None:
    """Delete USERNAME and its permissions (nothing happens if unknown)."""
    services.admin.delete_user(username, Actor.command("user delete"))


@user_group.command("list")
@pass_services
def list_users(services: Services) -> None:
    """Print every user with its permissions as JSON."""
    users = [_json_ready(dataclasses.asdict(user)) for user in services.admin.list_users().items]
    click.echo(json.dumps(users, indent=2))


def _json_ready(item: dict[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in item.items()}


@user_group.command("token")
@click.option("--last-forever", is_flag=True, help="Issue a token that never expires.")
@click.option(
    "--expires-in",
    type=click.IntRange(min=1),
    metavar="SECONDS",
    help="Lifetime of the token (default: JWT_ACCESS_TOKEN_EXPIRES).",
)
@click.argument("username")
@pass_services
def token(services: Services, username: str, last_forever: bool, expires_in: int | None) -> None:
    """Print an access token for USERNAME, signed with the private key."""
    if last_forever and expires_in is not None:
        raise click.UsageError("--last-forever and --expires-in exclude each other")
    if services.admin.get_user(username) is None:
        fail(f"User '{username}' not registered")
    try:
        private_key = services.signing_key()
    except SetupError as ex:
        fail(str(ex))
    settings = services.settings
    lifetime = None if last_forever else (expires_in or settings.jwt_access_token_expires)
    click.echo(
        issue_token(private_key, username, algorithm=settings.jwt_algorithm, expires_in=lifetime)
    )


def _grant(services: Services, username: str, base_uri: str, kind: PermissionKind) -> None:
    base_uri = normalise_uri(base_uri)
    if services.admin.get_base_uri(base_uri) is None:
        fail(f"Base URI '{base_uri}' not registered")
    if services.admin.get_user(username) is None:
        fail(f"User '{username}' not registered")
    if not services.admin.grant(
        username, base_uri, kind, Actor.command(f"user {kind}-permission")
    ):
        fail(f"User '{username}' already has {kind} permissions")


@user_group.command("search-permission")
@click.argument("username")
@click.argument("base_uri")
@pass_services
def search_permission(services: Services, username: str, base_uri: str) -> None:
    """Let USERNAME search the datasets in BASE_URI."""
    _grant(services, username, base_uri, "search")


@user_group.command("register-permission")
@click.argument("username")
@click.argument("base_uri")
@pass_services
def register_permission(services: Services, username: str, base_uri: str) -> None:
    """Let USERNAME register datasets in BASE_URI."""
    _grant(services, username, base_uri, "register")
