"""Subscriptions' types: saved searches, changes in the outbox, deliveries.

``ChangeFeed`` reads the outbox the dataset store writes with each write (an
SQL store in the write's transaction, a MongoDB store right after it);
``SubscriptionStore`` keeps saved searches, which datasets matched each one,
and the notifications waiting for delivery, always in the admin store (SQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Change:
    """One committed write of a dataset record, from the outbox."""

    id: int
    uri: str
    base_uri: str
    uuid: str
    name: str
    removed: bool
    committed_at: float


@dataclass(frozen=True, slots=True)
class Subscription:
    """A user's saved search and its target: a webhook URL or a named queue."""

    id: int
    username: str
    name: str
    criteria: Mapping[str, Any]
    webhook: str | None
    queue: str | None
    created_at: float
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A notification to queue for one subscription and dataset URI."""

    subscription_id: int
    uri: str
    payload: Mapping[str, Any]
    matches: bool  # whether the dataset matches the subscription after it


@dataclass(frozen=True, slots=True)
class Delivery:
    """A queued or parked notification."""

    id: int
    subscription_id: int
    uri: str
    payload: Mapping[str, Any]
    attempts: int
    due_at: float
    parked: bool
    reason: str


@runtime_checkable
class ChangeFeed(Protocol):
    """The outbox of dataset writes, oldest first."""

    def changes(self, limit: int) -> list[Change]:
        """Return up to ``limit`` changes in commit order (by id)."""
        ...

    def forget(self, ids: Iterable[int]) -> None:
        """Delete the changes with these ids (they were matched)."""
        ...


@runtime_checkable
class SubscriptionStore(Protocol):
    """Saved searches, their match state and their deliveries."""

    def create(
        self,
        username: str,
        name: str,
        criteria: Mapping[str, Any],
        *,
        webhook: str | None,
        queue: str | None,
        secret: str | None,
        created_at: float,
    ) -> Subscription:
        """Save a subscription of ``username``.

        Raises:
            UnknownUser: the user is not registered.
        """
        ...

    def get(self, subscription_id: int) -> Subscription | None:
        """Return the subscription (with its secret), or None."""
        ...

    def list_for(self, username: str | None = None) -> list[Subscription]:
        """Return the subscriptions of ``username`` (every one for None), oldest first."""
        ...

    def delete(self, subscription_id: int) -> bool:
        """Delete the subscription and its deliveries; True if it existed."""
        ...

    def matching(self, uris: Sequence[str]) -> set[tuple[int, str]]:
        """Return ``(subscription id, uri)`` of those ``uris`` matched when last notified."""
        ...

    def queue(self, deliveries: Sequence[NewDelivery], due_at: float) -> None:
        """Queue notifications and record each URI's match state, in one transaction."""
        ...

    def pending(self, limit: int) -> list[Delivery]:
        """Return up to ``limit`` unparked deliveries, oldest first."""
        ...

    def delivered(self, delivery_ids: Sequence[int]) -> None:
        """Delete deliveries that reached their target."""
        ...

    def postpone(self, delivery_id: int, attempts: int, due_at: float, reason: str) -> None:
        """Record a failed attempt; try again at ``due_at``."""
        ...

    def park(self, delivery_id: int, attempts: int, reason: str) -> None:
        """Stop trying a delivery, keeping it with the reason."""
        ...

    def parked(self, subscription_id: int) -> list[Delivery]:
        """Return the parked deliveries of a subscription, oldest first."""
        ...
