"""``dtool-lookup subscriptions ...`` and ``dtool-lookup deliver``.

Admins manage every user's subscriptions here (the API lets users manage
their own); ``deliver`` is the long-running deliverer of notifications
(``serve`` starts one itself in the embedded deployment).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from lookup_api import schemas
from lookup_api.validation import collect_errors
from lookup_events.cli.context import fail, pass_services
from lookup_events.cli.processes import configure_logging, log_level, stop_on_signals
from lookup_events.errors import UnknownUser
from lookup_events.services import Services
from lookup_events.subscriptions.documents import delivery_document, subscription_document
from lookup_events.subscriptions.manager import InvalidSubscription

log = logging.getLogger("lookup_events.cli")


@click.group("subscriptions")
def subscriptions_group() -> None:
    """Manage saved searches that notify webhooks or queues of matching datasets."""


@subscriptions_group.command("list")
@click.option("--user", "username", help="Only this user's subscriptions.")
@pass_services
def list_subscriptions(services: Services, username: str | None) -> None:
    """Print subscriptions as JSON (secrets are never shown again)."""
    found = services.subscription_store().list_for(username)
    click.echo(json.dumps([subscription_document(item) for item in found], indent=2))


@subscriptions_group.command("add")
@click.argument("username")
@click.option("--search", "search", default="{}", show_default=True, help="Search body (JSON).")
@click.option("--webhook", help="URL notifications are POSTed to.")
@click.option("--queue", help="Name of a queue the admin configured.")
@click.option("--name", default="", help="A name to recognise it by.")
@pass_services
def add(  # noqa: PLR0917 - one parameter per click option
    services: Services,
    username: str,
    search: str,
    webhook: str | None,
    queue: str | None,
    name: str,
) -> None:
    """Subscribe USERNAME; prints the subscription and, for a webhook, its secret (once)."""
    criteria = _search_body(search)
    try:
        created = services.subscription_manager().create(
            username, criteria, name=name, webhook=webhook, queue=queue
        )
    except (InvalidSubscription, UnknownUser) as ex:
        fail(str(ex))
    document = subscription_document(created.subscription)
    if created.secret is not None:
        document["secret"] = created.secret
    click.echo(json.dumps(document, indent=2))


def _search_body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError as ex:
        fail(f"--search is not JSON: {ex}")
    errors = collect_errors(body, schemas.SEARCH)
    if errors:
        fail(f"--search: {json.dumps(errors)}")
    return dict(body)


@subscriptions_group.command("delete")
@click.argument("subscription_id", type=int)
@pass_services
def delete(services: Services, subscription_id: int) -> None:
    """Delete a subscription and the notifications waiting for it."""
    if not services.subscription_store().delete(subscription_id):
        fail(f"No subscription {subscription_id}")
    click.echo(f"Deleted subscription {subscription_id}")


@subscriptions_group.command("parked")
@click.argument("subscription_id", type=int)
@pass_services
def parked(services: Services, subscription_id: int) -> None:
    """Print the notifications given up on, with the reason, as JSON."""
    store = services.subscription_store()
    if store.get(subscription_id) is None:
        fail(f"No subscription {subscription_id}")
    found = store.parked(subscription_id)
    click.echo(json.dumps([delivery_document(item) for item in found], indent=2))


@click.command("deliver")
@log_level
@pass_services
def deliver(services: Services, log_level: str) -> None:
    """Deliver subscriptions' notifications until stopped (one deliverer per database)."""
    configure_logging(services, "deliverer", log_level)
    deliverer = services.deliverer()
    with stop_on_signals() as stop:
        log.info("deliverer: started")
        deliverer.run(stop)
    log.info("deliverer stopped")
