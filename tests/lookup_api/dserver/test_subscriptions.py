"""``/subscriptions``: users manage their own, admins anyone's; bad input changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from tests.support.subscriptions import OUTSIDER, SUBSCRIBER, Subscribed, SubscriptionApi
from tests.support.webhooks import Receiver, webhook_receiver

ADMIN = "snow-white"


@pytest.fixture
def subscribed(database_url: str, tmp_path: Path) -> Iterator[Subscribed]:
    """Services with subscriptions on, and an admin, on each SQL backend."""
    opened = Subscribed(database_url, tmp_path, subscription_queues=(("results", "amqp://x//#q"),))
    opened.services.admin.add_user(ADMIN, is_admin=True)
    yield opened
    opened.close()


@pytest.fixture
def api(subscribed: Subscribed) -> SubscriptionApi:
    """The app over those stores."""
    return SubscriptionApi(subscribed)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a loopback port."""
    with webhook_receiver() as running:
        yield running


def create(api: SubscriptionApi, body: dict[str, object], user: str = SUBSCRIBER) -> dict:  # type: ignore[type-arg]
    """Create a subscription; return the reply body."""
    result = api.request("POST", "/subscriptions", user, json=body)
    assert result.status_code == 201, result.json
    return dict(result.json)


def test_a_webhook_subscription_shows_its_secret_once(
    api: SubscriptionApi, receiver: Receiver
) -> None:
    body = {"name": "apples", "search": {"free_text": "apple"}, "webhook": receiver.url}
    created = create(api, body)
    assert len(created["secret"]) == 64
    assert created["search"] == {"free_text": "apple"}
    again = api.request("GET", f"/subscriptions/{created['id']}", SUBSCRIBER).json
    assert "secret" not in again
    assert again["webhook"] == receiver.url
    listed = api.request("GET", "/subscriptions", SUBSCRIBER).json
    assert [item["id"] for item in listed] == [created["id"]]
    assert "secret" not in listed[0]


def test_a_queue_subscription_has_no_secret(api: SubscriptionApi) -> None:
    created = create(api, {"queue": "results"})
    assert "secret" not in created
    assert created["queue"] == "results"


def test_other_users_subscriptions_are_missing_to_them_but_not_to_admins(
    api: SubscriptionApi, receiver: Receiver
) -> None:
    created = create(api, {"webhook": receiver.url})
    path = f"/subscriptions/{created['id']}"
    assert api.request("GET", path, OUTSIDER).status_code == 404
    assert api.request("DELETE", path, OUTSIDER).status_code == 404
    assert api.request("GET", f"{path}/parked", OUTSIDER).status_code == 404
    assert api.request("GET", "/subscriptions", OUTSIDER).json == []
    assert api.request("GET", "/subscriptions?all=true", OUTSIDER).status_code == 403
    assert [s["id"] for s in api.request("GET", "/subscriptions?all=true", ADMIN).json] == [
        created["id"]
    ]
    assert api.request("GET", path, ADMIN).status_code == 200
    assert api.request("DELETE", path, ADMIN).status_code == 204
    assert api.request("GET", path, SUBSCRIBER).status_code == 404


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "exactly one target"),
        ({"webhook": "http://127.0.0.1:1/x", "queue": "results"}, "exactly one target"),
        ({"queue": "nowhere"}, "no queue named 'nowhere'"),
        ({"webhook": "https://169.254.169.254/latest"}, "link-local"),
        ({"webhook": "ftp://example.org/x"}, "must use"),
        ({"webhook": "not a url"}, "must use"),
        ({"webhook": "https://no-such-host.invalid/x"}, "does not resolve"),
    ],
)
def test_refused_targets_are_422_with_the_reason_and_save_nothing(
    api: SubscriptionApi, body: dict[str, object], words: str
) -> None:
    result = api.request("POST", "/subscriptions", SUBSCRIBER, json=body)
    assert result.status_code == 422
    assert words in result.json["message"]
    assert api.request("GET", "/subscriptions", SUBSCRIBER).json == []


@pytest.mark.parametrize(
    "body",
    [
        {"search": {"free_text": 3}, "queue": "results"},
        {"search": {"colour": "red"}, "queue": "results"},
        {"queue": ["results"]},
        {"queue": "results", "name": "x" * 300},
        {"queue": "results", "extra": True},
        ["results"],
        {"search": {"free_text": " ".join(f"w{n}" for n in range(65))}, "queue": "results"},
        {"search": {"tags": [f"t{n}" for n in range(101)]}, "queue": "results"},
    ],
)
def test_bodies_the_schema_refuses_are_422_and_save_nothing(
    api: SubscriptionApi, body: object
) -> None:
    result = api.request("POST", "/subscriptions", SUBSCRIBER, json=body)
    assert result.status_code == 422
    assert api.request("GET", "/subscriptions", SUBSCRIBER).json == []


@pytest.mark.parametrize(
    "path", ["/subscriptions/0", "/subscriptions/99999999999", "/subscriptions/x"]
)
def test_ids_that_cannot_exist_are_404(api: SubscriptionApi, path: str) -> None:
    assert api.request("GET", path, SUBSCRIBER).status_code == 404


def test_unregistered_callers_are_401(api: SubscriptionApi) -> None:
    assert api.request("GET", "/subscriptions", "dopey").status_code == 401


def test_parked_deliveries_are_listed_for_the_owner_within_their_permissions(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    subscribed = Subscribed(database_url, tmp_path, subscription_attempts=1)
    try:
        api = SubscriptionApi(subscribed)
        created = create(api, {"webhook": receiver.url})
        receiver.answers = [500]
        subscribed.freeze("crop")
        subscribed.deliverer.run_once()
        path = f"/subscriptions/{created['id']}/parked"
        [parked] = api.request("GET", path, SUBSCRIBER).json
        assert parked["reason"] == "the webhook answered 500"
        assert parked["notification"]["dataset"]["name"] == "crop"
        # Once the subscriber may no longer search the base URI, it is hidden too.
        subscribed.services.admin.revoke(SUBSCRIBER, subscribed.base_uri, "search")
        assert api.request("GET", path, SUBSCRIBER).json == []
    finally:
        subscribed.close()


def test_the_routes_are_in_a_valid_openapi_document(api: SubscriptionApi) -> None:
    document = api.client.simulate_get("/doc/openapi.json").json
    validate(document)
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if path.startswith("/subscriptions")
    }
    assert documented == {
        ("get", "/subscriptions"),
        ("post", "/subscriptions"),
        ("get", "/subscriptions/{subscription_id}"),
        ("delete", "/subscriptions/{subscription_id}"),
        ("get", "/subscriptions/{subscription_id}/parked"),
    }
