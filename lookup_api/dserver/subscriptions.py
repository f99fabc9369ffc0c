"""``/subscriptions``: a user's saved searches notified to a webhook or a queue.

Served when ``DTOOL_LOOKUP_SUBSCRIPTIONS`` is on. Users create, read and
delete their own; an admin may read and delete anyone's (``?all=true``
lists every one). Another user's subscription is answered as missing (404),
so ids reveal nothing. A webhook's secret is in the creation reply only.
"""

from __future__ import annotations

import falcon

from lookup_api.access import Access
from lookup_api.errors import APIError
from lookup_api.operations.subscriptions import SUBSCRIPTION
from lookup_api.validation import check_search_size, validated_body
from lookup_events.store.feeds import Subscription, SubscriptionStore
from lookup_events.store.protocols import User
from lookup_events.subscriptions.documents import (
    delivery_document,
    subscription_document,
    visible_deliveries,
)
from lookup_events.subscriptions.manager import InvalidSubscription, SubscriptionManager

# NOTE(dev): ids beyond a 32-bit integer never exist; bounding them keeps
# PostgreSQL from refusing the parameter (which would read as an outage).
ID = "{subscription_id:int(min=1, max=2147483647)}"
_TRUE = frozenset({"1", "true", "yes", "on"})


def routes(
    access: Access, store: SubscriptionStore, manager: SubscriptionManager
) -> list[tuple[str, object]]:
    """Return ``(URI template, resource)`` for every subscription route."""
    return [
        ("/subscriptions", SubscriptionsResource(access, store, manager)),
        (f"/subscriptions/{ID}", SubscriptionResource(access, store)),
        (f"/subscriptions/{ID}/parked", ParkedResource(access, store)),
    ]


def _owned(store: SubscriptionStore, user: User, subscription_id: int) -> Subscription:
    """Return the subscription if the user owns it or is an admin; else 404."""
    found = store.get(subscription_id)
    if found is None or (found.username != user.username and not user.is_admin):
        raise APIError(404, message=f"no subscription {subscription_id}")
    return found


class SubscriptionsResource:
    """``GET /subscriptions``: list; ``POST /subscriptions``: subscribe."""

    def __init__(
        self, access: Access, store: SubscriptionStore, manager: SubscriptionManager
    ) -> None:
        self._access = access
        self._store = store
        self._manager = manager

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the caller's subscriptions (an admin's ``all=true``: everyone's)."""
        user = self._access.user(req)
        every = (req.get_param("all") or "").lower() in _TRUE
        if every and not user.is_admin:
            raise APIError(403, message="only admins may list every user's subscriptions")
        found = self._store.list_for(None if every else user.username)
        resp.media = [subscription_document(item) for item in found]

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Save a subscription of the caller; the reply holds a webhook's secret, once."""
        user = self._access.user(req)
        body = validated_body(req, SUBSCRIPTION)
        # A saved search is run for every change: the limits of a search apply.
        check_search_size(body.get("search", {}), "json")
        try:
            created = self._manager.create(
                user.username,
                body.get("search", {}),
                name=body.get("name", ""),
                webhook=body.get("webhook"),
                queue=body.get("queue"),
            )
        except InvalidSubscription as ex:
            raise APIError(422, message=str(ex)) from ex
        document = subscription_document(created.subscription)
        if created.secret is not None:
            document["secret"] = created.secret
        resp.status = falcon.HTTP_201
        resp.media = document


class SubscriptionResource:
    """``GET`` and ``DELETE /subscriptions/{id}``."""

    def __init__(self, access: Access, store: SubscriptionStore) -> None:
        self._access = access
        self._store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response, subscription_id: int) -> None:
        """Return the subscription (never its secret)."""
        found = _owned(self._store, self._access.user(req), subscription_id)
        resp.media = subscription_document(found)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, subscription_id: int) -> None:
        """Delete the subscription and the notifications waiting for it."""
        found = _owned(self._store, self._access.user(req), subscription_id)
        self._store.delete(found.id)
        resp.status = falcon.HTTP_204


class ParkedResource:
    """``GET /subscriptions/{id}/parked``: notifications given up on, with the reason."""

    def __init__(self, access: Access, store: SubscriptionStore) -> None:
        self._access = access
        self._store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response, subscription_id: int) -> None:
        """Return the parked deliveries about datasets the caller may search."""
        user = self._access.user(req)
        found = _owned(self._store, user, subscription_id)
        parked = self._store.parked(found.id)
        visible = visible_deliveries(parked, user.search_permissions_on_base_uris)
        resp.media = [delivery_document(item) for item in visible]
