"""Creating subscriptions: the target checked, the signing secret made once.

Shared by the API routes and ``dtool-lookup subscriptions``. A webhook URL
must pass the address policy now (it is checked again at every send); a
queue must be one the admin named. The secret is returned only here: it is
shown once, on creation, and never again.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from lookup_events.store.feeds import Subscription, SubscriptionStore
from lookup_events.subscriptions.addresses import AddressPolicy, AddressRefused

MAX_NAME = 255
SECRET_BYTES = 32


class InvalidSubscription(ValueError):
    """A subscription that cannot be saved; the message says why."""


@dataclass(frozen=True, slots=True)
class Created:
    """A new subscription and its secret (webhooks only), shown this once."""

    subscription: Subscription
    secret: str | None


class SubscriptionManager:
    """Validates and saves subscriptions."""

    def __init__(
        self,
        store: SubscriptionStore,
        policy: AddressPolicy,
        queues: Collection[str],
        clock: Callable[[], float] = time.time,
        make_secret: Callable[[int], str] = secrets.token_hex,
    ) -> None:
        self._store = store
        self._policy = policy
        self._queues = frozenset(queues)
        self._clock = clock
        self._make_secret = make_secret

    def create(
        self,
        username: str,
        criteria: Mapping[str, Any],
        *,
        name: str = "",
        webhook: str | None = None,
        queue: str | None = None,
    ) -> Created:
        """Save a subscription of ``username`` to exactly one target.

        Raises:
            InvalidSubscription: no or two targets, a refused URL, an unknown queue.
            UnknownUser: the user is not registered.
        """
        self._check_target(webhook, queue)
        if len(name) > MAX_NAME:
            raise InvalidSubscription(f"name: at most {MAX_NAME} characters")
        secret = self._make_secret(SECRET_BYTES) if webhook else None
        subscription = self._store.create(
            username,
            name,
            criteria,
            webhook=webhook,
            queue=queue,
            secret=secret,
            created_at=self._clock(),
        )
        return Created(subscription, secret)

    def _check_target(self, webhook: str | None, queue: str | None) -> None:
        if (webhook is None) == (queue is None):
            raise InvalidSubscription("give exactly one target: webhook or queue")
        if webhook is not None:
            try:
                self._policy.destination(webhook)
            except AddressRefused as ex:
                raise InvalidSubscription(f"webhook: {ex}") from ex
        elif queue not in self._queues:
            known = ", ".join(sorted(self._queues)) or "none configured"
            raise InvalidSubscription(f"queue: no queue named {queue!r} ({known})")
