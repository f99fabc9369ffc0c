"""SqlSubscriptionStore: saved searches, their match state and deliveries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select, update

from lookup_events.errors import DatabaseUnavailable, UnknownUser
from lookup_events.store.feeds import Delivery, NewDelivery, Subscription
from lookup_events.store.sql.engine import reader, translate_errors, writer
from lookup_events.store.sql.schema import (
    subscription_deliveries,
    subscription_matches,
    subscriptions,
    users,
)

_CHUNK = 500
_SUBSCRIPTION = select(
    subscriptions.c.id,
    users.c.username,
    subscriptions.c.name,
    subscriptions.c.criteria,
    subscriptions.c.webhook,
    subscriptions.c.queue,
    subscriptions.c.created_at,
    subscriptions.c.secret,
).join(users, users.c.id == subscriptions.c.user_id)
_DELIVERY = select(
    subscription_deliveries.c.id,
    subscription_deliveries.c.subscription_id,
    subscription_deliveries.c.uri,
    subscription_deliveries.c.payload,
    subscription_deliveries.c.attempts,
    subscription_deliveries.c.due_at,
    subscription_deliveries.c.parked,
    subscription_deliveries.c.reason,
)


class SqlSubscriptionStore:
    """SubscriptionStore on the admin store's engine (subscriptions belong to users)."""

    def __init__(self, engine: Engine) -> None:
        self._reader = reader(engine)
        self._writer = writer(engine)

    @translate_errors(ValueError)
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
        with self._writer.begin() as conn:
            user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
            if user_id is None:
                raise UnknownUser(f"user {username!r} is not registered")
            values = {
                "user_id": user_id,
                "name": name,
                "criteria": dict(criteria),
                "webhook": webhook,
                "queue": queue,
                "secret": secret,
                "created_at": created_at,
            }
            new_id = conn.execute(insert(subscriptions).values(values)).inserted_primary_key
        assert new_id is not None
        return Subscription(
            new_id[0], username, name, dict(criteria), webhook, queue, created_at, secret
        )

    @translate_errors(DatabaseUnavailable)
    def get(self, subscription_id: int) -> Subscription | None:
        """Return the subscription (with its secret), or None."""
        with self._reader.connect() as conn:
            row = conn.execute(_SUBSCRIPTION.where(subscriptions.c.id == subscription_id)).first()
        return None if row is None else Subscription(**row._mapping)

    @translate_errors(DatabaseUnavailable)
    def list_for(self, username: str | None = None) -> list[Subscription]:
        """Return the subscriptions of ``username`` (every one for None), oldest first."""
        statement = _SUBSCRIPTION.order_by(subscriptions.c.id)
        if username is not None:
            statement = statement.where(users.c.username == username)
        with self._reader.connect() as conn:
            return [Subscription(**row._mapping) for row in conn.execute(statement)]

    @translate_errors(DatabaseUnavailable)
    def delete(self, subscription_id: int) -> bool:
        """Delete the subscription and its deliveries; True if it existed."""
        with self._writer.begin() as conn:  # deliveries and matches go by ON DELETE CASCADE
            statement = delete(subscriptions).where(subscriptions.c.id == subscription_id)
            return conn.execute(statement).rowcount > 0

    @translate_errors(DatabaseUnavailable)
    def matching(self, uris: Sequence[str]) -> set[tuple[int, str]]:
        """Return ``(subscription id, uri)`` of those ``uris`` matched when last notified."""
        found: set[tuple[int, str]] = set()
        columns = (subscription_matches.c.subscription_id, subscription_matches.c.uri)
        with self._reader.connect() as conn:
            for start in range(0, len(uris), _CHUNK):
                chunk = uris[start : start + _CHUNK]
                statement = select(*columns).where(subscription_matches.c.uri.in_(chunk))
                found.update((row[0], row[1]) for row in conn.execute(statement))
        return found

    @translate_errors(DatabaseUnavailable)
    def queue(self, deliveries: Sequence[NewDelivery], due_at: float) -> None:
        """Queue notifications and record each URI's match state, in one transaction."""
        if not deliveries:
            return
        rows = [
            {
                "subscription_id": item.subscription_id,
                "uri": item.uri,
                "payload": dict(item.payload),
                "attempts": 0,
                "due_at": due_at,
                "parked": False,
                "reason": "",
            }
            for item in deliveries
        ]
        by_subscription: dict[int, list[str]] = {}
        for item in deliveries:
            by_subscription.setdefault(item.subscription_id, []).append(item.uri)
        with self._writer.begin() as conn:
            conn.execute(insert(subscription_deliveries), rows)
            for subscription_id, uris in by_subscription.items():
                for start in range(0, len(uris), _CHUNK):
                    conn.execute(
                        delete(subscription_matches).where(
                            subscription_matches.c.subscription_id == subscription_id,
                            subscription_matches.c.uri.in_(uris[start : start + _CHUNK]),
                        )
                    )
            matched = [
                {"subscription_id": item.subscription_id, "uri": item.uri}
                for item in deliveries
                if item.matches
            ]
            if matched:
                conn.execute(insert(subscription_matches), matched)

    @translate_errors(DatabaseUnavailable)
    def pending(self, limit: int) -> list[Delivery]:
        """Return up to ``limit`` unparked deliveries, oldest first."""
        statement = (
            _DELIVERY.where(subscription_deliveries.c.parked.is_(False))
            .order_by(subscription_deliveries.c.id)
            .limit(limit)
        )
        with self._reader.connect() as conn:
            return [Delivery(**row._mapping) for row in conn.execute(statement)]

    @translate_errors(DatabaseUnavailable)
    def delivered(self, delivery_ids: Sequence[int]) -> None:
        """Delete deliveries that reached their target."""
        if not delivery_ids:
            return
        with self._writer.begin() as conn:
            for start in range(0, len(delivery_ids), _CHUNK):
                chunk = delivery_ids[start : start + _CHUNK]
                conn.execute(
                    delete(subscription_deliveries).where(subscription_deliveries.c.id.in_(chunk))
                )

    @translate_errors(DatabaseUnavailable)
    def postpone(self, delivery_id: int, attempts: int, due_at: float, reason: str) -> None:
        """Record a failed attempt; try again at ``due_at``."""
        self._set(delivery_id, attempts=attempts, due_at=due_at, reason=reason)

    @translate_errors(DatabaseUnavailable)
    def park(self, delivery_id: int, attempts: int, reason: str) -> None:
        """Stop trying a delivery, keeping it with the reason."""
        self._set(delivery_id, attempts=attempts, parked=True, reason=reason)

    def _set(self, delivery_id: int, **values: Any) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                update(subscription_deliveries)
                .where(subscription_deliveries.c.id == delivery_id)
                .values(**values)
            )

    @translate_errors(DatabaseUnavailable)
    def parked(self, subscription_id: int) -> list[Delivery]:
        """Return the parked deliveries of a subscription, oldest first."""
        statement = _DELIVERY.where(
            and_(
                subscription_deliveries.c.subscription_id == subscription_id,
                subscription_deliveries.c.parked.is_(True),
            )
        ).order_by(subscription_deliveries.c.id)
        with self._reader.connect() as conn:
            return [Delivery(**row._mapping) for row in conn.execute(statement)]
