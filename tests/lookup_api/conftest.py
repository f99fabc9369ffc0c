"""API fixtures: an RSA key pair per session, tokens, and test clients over real stores.

``client``, ``users_client`` and ``data_client`` mirror the anchor's
``tmp_app``, ``tmp_app_with_users`` and ``tmp_app_with_data``; each runs on
every SQL backend through the ``stores`` fixture.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from falcon import testing

from lookup_events.config import Settings
from lookup_events.store import Stores
from lookup_events.tokens import issue_token
from tests.support.api import Header, KeyPair, client_for, key_pair
from tests.support.data import load_anchor_data, load_anchor_users


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    """The key pair the test server trusts."""
    return key_pair()


@pytest.fixture(scope="session")
def other_keys() -> KeyPair:
    """A key pair the test server does not trust."""
    return key_pair()


@pytest.fixture
def settings(tmp_path: Path, keys: KeyPair) -> Settings:
    """Settings trusting ``keys``; the stores come from the ``stores`` fixture."""
    return Settings(data_dir=tmp_path, jwt_public_key=keys.public_pem).completed()


@pytest.fixture(scope="session")
def auth(keys: KeyPair) -> Header:
    """Return ``Authorization`` headers carrying a token for a username."""
    # NOTE(dev): loading the PEM private key takes ~45 ms, so tokens are made once.
    tokens: dict[str, str] = {}

    def header(username: str) -> dict[str, str]:
        if username not in tokens:
            tokens[username] = issue_token(keys.private_pem, username, expires_in=None)
        return {"Authorization": f"Bearer {tokens[username]}"}

    return header


@pytest.fixture
def client(settings: Settings, stores: Stores) -> testing.TestClient:
    """An app over empty stores (the anchor's ``tmp_app``)."""
    return client_for(settings, stores)


@pytest.fixture
def users_client(settings: Settings, stores: Stores) -> testing.TestClient:
    """Users and s3://snow-white, no datasets (the anchor's ``tmp_app_with_users``)."""
    load_anchor_users(stores)
    return client_for(settings, stores)


@pytest.fixture
def data_client(settings: Settings, stores: Stores) -> testing.TestClient:
    """Users, two base URIs and three datasets (the anchor's ``tmp_app_with_data``)."""
    load_anchor_data(stores)
    return client_for(settings, stores)


@pytest.fixture
def sqlite_data_client(settings: Settings, sqlite_stores: Stores) -> testing.TestClient:
    """The anchor data on SQLite only, for tests that do not depend on the backend."""
    load_anchor_data(sqlite_stores)
    return client_for(settings, sqlite_stores)
