"""``dtool-lookup user ...``: users, their permissions and their tokens."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from lookup_events.cli.context import CliContext, fail, pass_cli
from lookup_events.cli.group import LookupGroup
from lookup_events.config import Settings
from lookup_events.keys import with_embedded_keys
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
@pass_cli
def add_user(cli: CliContext, username: str, is_admin: bool, legacy_is_admin: bool) -> None:
    """Register USERNAME."""
    if not cli.admin.add_user(username, is_admin or legacy_is_admin):
        fail(f"User '{username}' already registered")


@user_group.command("update")
@admin_flag
@click.argument("username")
@pass_cli
def update_user(cli: CliContext, username: str, is_admin: bool, legacy_is_admin: bool) -> None:
    """Set whether USERNAME is an admin (without the flag: not an admin)."""
    if cli.admin.get_user(username) is None:
        fail(f"User '{username}' is not registered yet")
    cli.admin.put_user(username, is_admin or legacy_is_admin)


@user_group.command("delete")
@click.argument("username")
@pass_cli
def delete_user(cli: CliContext, username: str) -> None:
    """Delete USERNAME and its permissions (nothing happens if unknown)."""
    cli.admin.delete_user(username)


@user_group.command("list")
@pass_cli
def list_users(cli: CliContext) -> None:
    """Print every user with its permissions as JSON."""
    users = [_json_ready(dataclasses.asdict(user)) for user in cli.admin.list_users().items]
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
@pass_cli
def token(cli: CliContext, username: str, last_forever: bool, expires_in: int | None) -> None:
    """Print an access token for USERNAME, signed with the private key."""
    if last_forever and expires_in is not None:
        raise click.UsageError("--last-forever and --expires-in exclude each other")
    if cli.admin.get_user(username) is None:
        fail(f"User '{username}' not registered")
    settings = signing_settings(cli.settings)
    lifetime = None if last_forever else (expires_in or settings.jwt_access_token_expires)
    click.echo(
        issue_token(
            settings.jwt_private_key,
            username,
            algorithm=settings.jwt_algorithm,
            expires_in=lifetime,
        )
    )


def signing_settings(settings: Settings) -> Settings:
    """Return settings holding a private key, or stop with the reason there is none."""
    if settings.jwt_private_key_file and not settings.jwt_private_key:
        fail(f"Cannot read the private key file '{settings.jwt_private_key_file}'")
    if not settings.jwt_private_key:
        settings = with_embedded_keys(settings)
    if not settings.jwt_private_key:
        fail(
            "No private key to sign tokens with: the public key is configured, so set "
            "JWT_PRIVATE_KEY_FILE to its private key (or issue tokens where that key is)"
        )
    return settings


def _grant(cli: CliContext, username: str, base_uri: str, kind: PermissionKind) -> None:
    base_uri = normalise_uri(base_uri)
    if cli.admin.get_base_uri(base_uri) is None:
        fail(f"Base URI '{base_uri}' not registered")
    if cli.admin.get_user(username) is None:
        fail(f"User '{username}' not registered")
    if not cli.admin.grant(username, base_uri, kind):
        fail(f"User '{username}' already has {kind} permissions")


@user_group.command("search-permission")
@click.argument("username")
@click.argument("base_uri")
@pass_cli
def search_permission(cli: CliContext, username: str, base_uri: str) -> None:
    """Let USERNAME search the datasets in BASE_URI."""
    _grant(cli, username, base_uri, "search")


@user_group.command("register-permission")
@click.argument("username")
@click.argument("base_uri")
@pass_cli
def register_permission(cli: CliContext, username: str, base_uri: str) -> None:
    """Let USERNAME register datasets in BASE_URI."""
    _grant(cli, username, base_uri, "register")
