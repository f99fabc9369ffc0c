"""The deliverer end to end: registrations to signed webhook notifications.

Real datasets are registered through the registrar (whose transaction
writes the outbox; on MongoDB, the write right after) on SQLite,
PostgreSQL, mongomock and (with ``DTOOL_LOOKUP_TEST_MONGO_URI``) a real
MongoDB; a real HTTP receiver gets the notifications. Permissions,
ordering, retries and parking are checked as a
subscriber would notice them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookup_events.subscriptions.targets import SIGNATURE_HEADER
from tests.support.stores import TEXT_BACKEND_PARAMS, StoreBackend
from tests.support.subscriptions import OUTSIDER, Subscribed
from tests.support.webhooks import Receiver, webhook_receiver


@pytest.fixture
def subscribed(backend: StoreBackend, tmp_path: Path) -> Iterator[Subscribed]:
    """Services with subscriptions on, on each dataset store backend (MongoDB's included)."""
    opened = Subscribed(backend, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a loopback port."""
    with webhook_receiver() as running:
        yield running


def drain(subscribed: Subscribed, passes: int = 5) -> None:
    """Run the deliverer until nothing waits (or ``passes`` passes were made)."""
    store = subscribed.services.subscription_store()
    for _ in range(passes):
        subscribed.deliverer.run_once()
        if not store.pending(1):
            return


def events(receiver: Receiver) -> list[tuple[str, str]]:
    """Return (event, dataset name) of every notification received, in order."""
    return [(item.json["event"], item.json["dataset"]["name"]) for item in receiver.received]


# NOTE(dev): free text needs MongoDB's ``$text``, which mongomock lacks.
@pytest.mark.parametrize("dataset_backend", TEXT_BACKEND_PARAMS)
def test_a_matching_registration_is_notified_signed_with_the_secret(
    subscribed: Subscribed, receiver: Receiver
) -> None:
    created = subscribed.subscribe({"free_text": "apples"}, webhook=receiver.url)
    uri = subscribed.freeze("crop", readme="---\ndescription: apples\n")
    subscribed.freeze("other", readme="---\ndescription: pears\n")
    drain(subscribed)
    [notice] = receiver.received
    expected = hmac.new(created.secret.encode(), notice.body, hashlib.sha256).hexdigest()
    assert notice.headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"
    body = notice.json
    assert body["event"] == "registered"
    assert body["dataset"]["uri"] == uri
    assert body["dataset"]["name"] == "crop"
    assert body["subscription"] == created.subscription.id
    assert body["committed_at"].endswith("+00:00")


def test_a_filtered_registration_is_notified_on_every_backend(
    subscribed: Subscribed, receiver: Receiver
) -> None:
    created = subscribed.subscribe({"tags": ["ripe"]}, webhook=receiver.url)
    uri = subscribed.freeze("crop", tags=["ripe"])
    subscribed.freeze("other", tags=["green"])
    drain(subscribed)
    [notice] = receiver.received
    expected = hmac.new(created.secret.encode(), notice.body, hashlib.sha256).hexdigest()
    assert notice.headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"
    assert (notice.json["event"], notice.json["dataset"]["uri"]) == ("registered", uri)


def test_updates_and_removals_follow_in_order(subscribed: Subscribed, receiver: Receiver) -> None:
    subscribed.subscribe({"tags": ["ripe"]}, webhook=receiver.url)
    uri = subscribed.freeze("crop", tags=["ripe"])
    drain(subscribed)
    subscribed.registrar.register_uri(uri)  # re-registered, still matching
    drain(subscribed)
    subscribed.registrar.forget(uri)
    drain(subscribed)
    assert events(receiver) == [("registered", "crop"), ("updated", "crop"), ("removed", "crop")]
    assert receiver.received[-1].json["dataset_removed"] is True


def test_a_dataset_that_stops_matching_is_removed_for_the_subscriber(
    subscribed: Subscribed, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed.subscribe({"tags": ["ripe"]}, webhook=receiver.url)
    subscribed.freeze("crop", tags=["ripe"])
    drain(subscribed)
    # The same dataset, frozen again without the tag, registered at the same URI.
    (subscribed.base / "crop").rename(tmp_path / "old-crop")
    subscribed.freeze("crop", tags=["rotten"])
    drain(subscribed)
    assert events(receiver) == [("registered", "crop"), ("removed", "crop")]
    assert receiver.received[-1].json["dataset_removed"] is False


def test_nobody_hears_of_datasets_they_may_not_search(
    subscribed: Subscribed, receiver: Receiver
) -> None:
    subscribed.subscribe({}, user=OUTSIDER, webhook=receiver.url)
    subscribed.freeze("secret-crop")
    drain(subscribed)
    assert receiver.received == []
    # Granted later: the next change is announced, as the search would now find it.
    subscribed.services.admin.grant(OUTSIDER, subscribed.base_uri, "search")
    subscribed.freeze("open-crop")
    drain(subscribed)
    assert events(receiver) == [("registered", "open-crop")]


def test_a_revoked_permission_stops_the_notifications(
    subscribed: Subscribed, receiver: Receiver
) -> None:
    subscribed.services.admin.grant(OUTSIDER, subscribed.base_uri, "search")
    subscribed.subscribe({}, user=OUTSIDER, webhook=receiver.url)
    uri = subscribed.freeze("crop")
    drain(subscribed)
    subscribed.services.admin.revoke(OUTSIDER, subscribed.base_uri, "search")
    subscribed.registrar.register_uri(uri)
    drain(subscribed)
    # It stopped matching for them (no longer visible): told once, with nothing new.
    assert events(receiver) == [("registered", "crop"), ("removed", "crop")]
    subscribed.registrar.register_uri(uri)
    drain(subscribed)
    assert len(receiver.received) == 2


def test_a_failing_target_is_retried_and_later_events_wait_in_order(
    subscribed: Subscribed, receiver: Receiver
) -> None:
    subscribed.subscribe({}, webhook=receiver.url)
    receiver.answers = [500, 503]
    uri = subscribed.freeze("crop")
    subscribed.deliverer.match()  # queued; the removal is queued behind it
    subscribed.registrar.forget(uri)
    drain(subscribed, passes=10)
    statuses = [item.json["event"] for item in receiver.received]
    # Tried three times before it got through; the removal only after it.
    assert statuses == ["registered", "registered", "registered", "removed"]


def test_a_delivery_is_parked_with_the_reason_after_the_last_try(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    subscribed = Subscribed(database_url, tmp_path, subscription_attempts=3)
    try:
        created = subscribed.subscribe({}, webhook=receiver.url)
        receiver.answers = [500] * 10
        subscribed.freeze("crop")
        drain(subscribed, passes=10)
        assert len(receiver.received) == 3
        store = subscribed.services.subscription_store()
        [parked] = store.parked(created.subscription.id)
        assert parked.attempts == 3
        assert parked.reason == "the webhook answered 500"
        assert parked.payload["dataset"]["name"] == "crop"
        # Parked is given up on: the next notification goes out.
        subscribed.freeze("next")
        drain(subscribed)
        assert receiver.received[-1].json["dataset"]["name"] == "next"
    finally:
        subscribed.close()


def test_redirects_are_failures_never_followed(subscribed: Subscribed, receiver: Receiver) -> None:
    created = subscribed.subscribe({}, webhook=receiver.url)
    receiver.answers = [302] * 10
    subscribed.freeze("crop")
    drain(subscribed, passes=3)
    assert {item.path for item in receiver.received} == {"/hook"}
    store = subscribed.services.subscription_store()
    [waiting] = store.pending(10)
    assert waiting.reason == "the webhook answered 302"
    assert store.parked(created.subscription.id) == []


def test_one_subscription_per_user_and_a_deleted_one_hears_nothing(
    subscribed: Subscribed, receiver: Receiver
) -> None:
    created = subscribed.subscribe({}, webhook=receiver.url)
    subscribed.services.subscription_store().delete(created.subscription.id)
    subscribed.freeze("crop")
    drain(subscribed)
    assert receiver.received == []


def test_without_subscriptions_the_outbox_is_still_emptied(subscribed: Subscribed) -> None:
    subscribed.freeze("crop")
    assert subscribed.deliverer.run_once() == 1
    assert subscribed.deliverer.run_once() == 0
