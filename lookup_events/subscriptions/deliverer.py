"""The deliverer: drains the outbox into notifications and sends them.

One pass matches the oldest changes of the outbox (``Matcher``), queues the
notifications and the new match state in one transaction, deletes those
changes, then sends what is due in queue order. A delivery that fails is
retried after a doubling delay and parked with the reason after
``RetryPolicy.attempts`` tries; until it succeeds or is parked, later
notifications of the same subscription and dataset wait behind it, so each
subscriber sees a dataset's events in order. Notifications are delivered at
least once: a crash between sending and recording it sends it again
(receivers dedupe on the ``change`` and ``subscription`` fields). Run one
deliverer per database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lookup_events.errors import DatabaseUnavailable, QueryTimedOut
from lookup_events.store.feeds import ChangeFeed, Delivery, Subscription, SubscriptionStore
from lookup_events.subscriptions.matching import Matcher
from lookup_events.subscriptions.targets import (
    DeliveryFailed,
    QueueSender,
    WebhookSender,
    encode,
)

log = logging.getLogger(__name__)
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a notification is tried."""

    attempts: int = 8
    first_delay: float = 2.0
    max_delay: float = 600.0

    def delay(self, attempt: int) -> float:
        """Return the seconds to wait after failed try number ``attempt`` (1-based)."""
        return float(min(self.first_delay * 2 ** (attempt - 1), self.max_delay))


class Dispatcher:
    """Sends a delivery to its subscription's webhook or queue."""

    def __init__(self, webhooks: WebhookSender, queues: QueueSender) -> None:
        self._webhooks = webhooks
        self._queues = queues

    def send(self, subscription: Subscription, delivery: Delivery) -> None:
        """Send one notification.

        Raises:
            DeliveryFailed: the target did not take it.
        """
        body = encode(delivery.payload)
        if subscription.webhook:
            self._webhooks.send(subscription.webhook, subscription.secret or "", delivery.id, body)
        elif subscription.queue:
            self._queues.send(subscription.queue, body, delivery.uri)
        else:
            raise DeliveryFailed("the subscription has no target")


class Deliverer:
    """Matches outbox changes to subscriptions and delivers the notifications."""

    def __init__(
        self,
        changes: ChangeFeed,
        subscriptions: SubscriptionStore,
        matcher: Matcher,
        dispatcher: Dispatcher,
        *,
        policy: RetryPolicy = RetryPolicy(),
        clock: Clock = time.time,
        batch: int = 500,
    ) -> None:
        self._changes = changes
        self._subscriptions = subscriptions
        self._matcher = matcher
        self._dispatcher = dispatcher
        self._policy = policy
        self._clock = clock
        self._batch = batch

    def run(self, stop: threading.Event, idle: float = 0.05) -> None:
        """Deliver until ``stop`` is set; wait ``idle`` seconds when nothing was done."""
        while not stop.is_set():
            try:
                busy = self.run_once()
            except (DatabaseUnavailable, QueryTimedOut) as ex:
                # NOTE(dev): a matching search past DTOOL_LOOKUP_QUERY_TIMEOUT is retried too.
                log.warning("deliverer: %s; trying again", ex)
                stop.wait(1.0)
                continue
            if not busy:
                stop.wait(idle)

    def run_once(self) -> int:
        """Match the outbox once and send what is due; return how much was done."""
        return self.match() + self.send_due()

    def match(self) -> int:
        """Turn the oldest outbox changes into queued notifications; return how many changes."""
        changes = self._changes.changes(self._batch)
        if not changes:
            return 0
        owed = self._matcher.notifications(changes)
        self._subscriptions.queue(owed, self._clock())
        self._changes.forget(change.id for change in changes)
        return len(changes)

    def send_due(self) -> int:
        """Send the due deliveries in queue order; return how many reached their target."""
        now = self._clock()
        waiting: set[tuple[int, str]] = set()
        failing: set[int] = set()
        known: dict[int, Subscription | None] = {}
        sent: list[int] = []
        for delivery in self._subscriptions.pending(self._batch):
            key = (delivery.subscription_id, delivery.uri)
            if key in waiting or delivery.subscription_id in failing:
                continue
            if delivery.due_at > now:
                waiting.add(key)  # later ones of this dataset wait behind it
                continue
            if delivery.subscription_id not in known:
                known[delivery.subscription_id] = self._subscriptions.get(delivery.subscription_id)
            subscription = known[delivery.subscription_id]
            if subscription is None:
                continue  # deleted meanwhile; its deliveries went with it
            if self._try(subscription, delivery, now):
                sent.append(delivery.id)
            else:
                # NOTE(dev): a failing target is not tried again in this pass, so
                # one dead webhook cannot hold up every other subscription.
                failing.add(delivery.subscription_id)
        # NOTE(dev): recorded once per pass, one write transaction instead of one per
        # notification; a crash before it sends them again (at least once).
        self._subscriptions.delivered(sent)
        return len(sent)

    def _try(self, subscription: Subscription, delivery: Delivery, now: float) -> bool:
        try:
            self._dispatcher.send(subscription, delivery)
        except DeliveryFailed as ex:
            self._failed(delivery, str(ex), now)
            return False
        return True

    def _failed(self, delivery: Delivery, reason: str, now: float) -> None:
        attempts = delivery.attempts + 1
        if attempts >= self._policy.attempts:
            log.warning("delivery %d parked after %d tries: %s", delivery.id, attempts, reason)
            self._subscriptions.park(delivery.id, attempts, reason)
            return
        due = now + self._policy.delay(attempts)
        self._subscriptions.postpone(delivery.id, attempts, due, reason)
