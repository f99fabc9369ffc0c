"""Subscriptions under test: services with them on, a subscriber, datasets to announce.

``Subscribed`` opens the services of a migrated database with subscriptions
on, loopback webhooks allowed over plain HTTP (the receiver of
``tests.support.webhooks`` listens there), retries without waiting, and
registers users ``grumpy`` (who may search the base URI) and ``sleepy`` (who
may not). Datasets are real ones, written with dtoolcore and registered
through the registrar, whose transaction writes the outbox.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from falcon import testing

from lookup_api.app import create_app
from lookup_events.services import Services
from lookup_events.subscriptions.deliverer import Deliverer
from lookup_events.tokens import issue_token
from lookup_events.uris import normalise_uri
from tests.support.api import key_pair
from tests.support.datasets import make_dataset
from tests.support.stores import StoreBackend, settings_for

SUBSCRIBER = "grumpy"
OUTSIDER = "sleepy"


class Subscribed:
    """Services with subscriptions on, over one base URI of real datasets."""

    def __init__(self, url: str | StoreBackend, data_dir: Path, **settings: Any) -> None:
        """Open the services at ``url``, or on a store backend (MongoDB's included)."""
        defaults: dict[str, Any] = {
            "subscriptions": True,
            "subscription_http": True,
            "subscription_networks": ("127.0.0.0/8",),
            "subscription_backoff": 0.0,
            "subscription_timeout": 2.0,
        }
        backend = (
            url if isinstance(url, StoreBackend) else StoreBackend(settings_for(url, data_dir))
        )
        chosen = dataclasses.replace(backend.settings, **{**defaults, **settings})
        self.services = Services(chosen, mongo_client=backend.mongo_client)
        self.base = data_dir / "datasets"
        self.base.mkdir(exist_ok=True)
        self.base_uri = normalise_uri(str(self.base))
        admin = self.services.admin
        admin.add_base_uri(self.base_uri)
        admin.add_user(SUBSCRIBER)
        admin.add_user(OUTSIDER)
        admin.grant(SUBSCRIBER, self.base_uri, "search")
        self.registrar = self.services.registrar()
        self.deliverer: Deliverer = self.services.deliverer()

    def subscribe(self, criteria: dict[str, Any], user: str = SUBSCRIBER, **target: str) -> Any:
        """Save a subscription; return what ``create`` returned (with the secret)."""
        return self.services.subscription_manager().create(user, criteria, **target)

    def freeze(self, name: str, **options: Any) -> str:
        """Freeze a dataset and register it; return its URI."""
        uri = make_dataset(self.base, name, **options)
        self.registrar.register_uri(uri)
        return uri

    def close(self) -> None:
        """Release the services."""
        self.services.close()


class SubscriptionApi:
    """Requests to the app over a ``Subscribed``'s stores, as a named user."""

    def __init__(self, subscribed: Subscribed) -> None:
        keys = key_pair()
        self._private = keys.private_pem
        settings = dataclasses.replace(
            subscribed.services.settings, jwt_public_key=keys.public_pem
        )
        self.client = testing.TestClient(create_app(settings, subscribed.services.stores))

    def headers(self, username: str) -> dict[str, str]:
        """Return the Authorization header of ``username``."""
        token = issue_token(self._private, username, expires_in=None)
        return {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, username: str, **kwargs: Any) -> testing.Result:
        """Send a request as ``username``."""
        return self.client.simulate_request(method, path, headers=self.headers(username), **kwargs)
