"""Subscriptions and parked deliveries as JSON (the API's and the CLI's shape)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from lookup_events.store.feeds import Delivery, Subscription


def subscription_document(subscription: Subscription) -> dict[str, Any]:
    """Return a subscription as JSON, without its secret."""
    return {
        "id": subscription.id,
        "username": subscription.username,
        "name": subscription.name,
        "search": dict(subscription.criteria),
        "webhook": subscription.webhook,
        "queue": subscription.queue,
        "created_at": datetime.fromtimestamp(subscription.created_at, UTC).isoformat(),
    }


def delivery_document(delivery: Delivery) -> dict[str, Any]:
    """Return a parked delivery as JSON: the notification, tries and reason."""
    return {
        "id": delivery.id,
        "notification": dict(delivery.payload),
        "attempts": delivery.attempts,
        "reason": delivery.reason,
    }


def visible_deliveries(deliveries: list[Delivery], base_uris: Collection[str]) -> list[Delivery]:
    """Keep the deliveries about datasets in ``base_uris`` (what a viewer may search)."""
    return [item for item in deliveries if item.payload["dataset"]["base_uri"] in base_uris]
