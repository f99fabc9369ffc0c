"""Which subscriptions a batch of changes concerns, and what to tell each.

A subscription is evaluated with its owner's permissions as they are when
the change is matched: the saved search runs on the dataset store over the
base URIs the owner may search now, restricted to the changed datasets'
UUIDs. Compared with whether each URI matched when last notified, a change
becomes ``registered`` (it starts to match), ``updated`` (it matches still)
or ``removed`` (it stops matching: deleted, changed, or out of sight). Several
changes of one URI in a batch count as their net effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from lookup_events.store.criteria import canonical_uuid, criteria_query
from lookup_events.store.feeds import Change, NewDelivery, Subscription, SubscriptionStore
from lookup_events.store.protocols import AdminStore, DatasetStore, PageRequest, User
from lookup_events.uris import strip_trailing_slash

# Changes whose datasets are looked up in one search (SearchQuery.uuids).
UUIDS_PER_SEARCH = 100


class Matcher:
    """Turns changes into the notifications each subscription is owed."""

    def __init__(
        self, admin: AdminStore, datasets: DatasetStore, subscriptions: SubscriptionStore
    ) -> None:
        self._admin = admin
        self._datasets = datasets
        self._subscriptions = subscriptions

    def notifications(self, changes: Sequence[Change]) -> list[NewDelivery]:
        """Return every subscription's notifications for ``changes``, in change order."""
        latest = list({change.uri: change for change in changes}.values())
        latest.sort(key=lambda change: change.id)
        before = self._subscriptions.matching([change.uri for change in latest])
        users: dict[str, User | None] = {}
        owed: list[NewDelivery] = []
        for subscription in self._subscriptions.list_for():
            if subscription.username not in users:
                users[subscription.username] = self._admin.get_user(subscription.username)
            visible = _visible_base_uris(subscription, users[subscription.username])
            owed.extend(self._for(subscription, visible, latest, before))
        owed.sort(key=lambda item: (item.payload["change"], item.subscription_id))
        return owed

    def _for(
        self,
        subscription: Subscription,
        visible: Sequence[str],
        changes: Sequence[Change],
        before: set[tuple[int, str]],
    ) -> list[NewDelivery]:
        now_matching = self._matching(subscription, visible, changes)
        owed = []
        for change in changes:
            matched = (subscription.id, change.uri) in before
            event = _event(matched, change.uri in now_matching)
            if event is not None:
                payload = notification(subscription, change, event)
                owed.append(NewDelivery(subscription.id, change.uri, payload, event != "removed"))
        return owed

    def _matching(
        self, subscription: Subscription, visible: Sequence[str], changes: Sequence[Change]
    ) -> set[str]:
        """Return the URIs among ``changes`` that match the subscription now."""
        present = [c for c in changes if not c.removed and c.base_uri in visible]
        if not present:
            return set()
        # Only the base URIs that changed: the narrowest search that can find them.
        bases = {change.base_uri for change in present}
        query = criteria_query(subscription.criteria, [uri for uri in visible if uri in bases])
        wanted_uuids = set(query.uuids)
        uuids = list(dict.fromkeys(canonical_uuid(change.uuid) for change in present))
        if wanted_uuids:
            uuids = [uuid for uuid in uuids if uuid in wanted_uuids]
        changed = {change.uri for change in present}
        found: set[str] = set()
        for chunk in _chunks(uuids, UUIDS_PER_SEARCH):
            narrowed = replace(query, uuids=tuple(chunk))
            # A UUID may be registered at several URIs: ask for every copy.
            page = self._datasets.search(narrowed, PageRequest(1, 10 * len(chunk) + 10))
            found.update(entry.uri for entry in page.items if entry.uri in changed)
        return found


def _visible_base_uris(subscription: Subscription, user: User | None) -> tuple[str, ...]:
    """Return the base URIs the subscription's search runs over: what its owner may search."""
    if user is None:
        return ()
    allowed = user.search_permissions_on_base_uris
    requested = subscription.criteria.get("base_uris")
    if requested is None:
        return tuple(allowed)
    wanted = dict.fromkeys(strip_trailing_slash(uri) for uri in requested)
    return tuple(uri for uri in wanted if uri in allowed)


def _chunks(values: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _event(matched_before: bool, matches_now: bool) -> str | None:
    if matches_now:
        return "updated" if matched_before else "registered"
    return "removed" if matched_before else None


def notification(subscription: Subscription, change: Change, event: str) -> dict[str, Any]:
    """Return the JSON notification of one change for one subscription."""
    return {
        "subscription": subscription.id,
        "change": change.id,
        "event": event,
        "dataset_removed": change.removed,
        "dataset": {
            "uri": change.uri,
            "uuid": change.uuid,
            "name": change.name,
            "base_uri": change.base_uri,
        },
        "committed_at": datetime.fromtimestamp(change.committed_at, UTC).isoformat(),
    }
