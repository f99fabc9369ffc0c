"""Real released clients against a real server: gunicorn on 127.0.0.1, real tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lookup_events.store import open_stores, upgrade_database
from lookup_events.tokens import issue_token
from tests.bench.server import gunicorn, server_environment
from tests.support.api import KeyPair, key_pair
from tests.support.data import load_anchor_data
from tests.support.stores import settings_for


@pytest.fixture(scope="session")
def server_keys() -> KeyPair:
    """The key pair the server under test trusts."""
    return key_pair()


@pytest.fixture(scope="session")
def tokens(server_keys: KeyPair) -> dict[str, str]:
    """Long-lived tokens of the anchor users (and of dopey, who is not registered)."""
    names = ("grumpy", "sleepy", "snow-white", "dopey")
    return {name: issue_token(server_keys.private_pem, name, expires_in=None) for name in names}


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory, server_keys: KeyPair) -> Iterator[str]:
    """Serve the anchor data with gunicorn on a free loopback port (one server per module)."""
    data_dir = tmp_path_factory.mktemp("server")
    database = f"sqlite:///{data_dir / 'lookup.db'}"
    upgrade_database(database)
    stores = open_stores(settings_for(database, data_dir))
    try:
        load_anchor_data(stores)
    finally:
        stores.close()
    env = server_environment(
        {
            "DTOOL_LOOKUP_DATA_DIR": str(data_dir),
            "DTOOL_LOOKUP_DATABASE_URL": database,
            "JWT_PUBLIC_KEY": server_keys.public_pem,
        }
    )
    with gunicorn("lookup_api.wsgi:app", env, data_dir) as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A scratch home directory holding the client's dtool configuration."""
    (tmp_path / "home" / ".config" / "dtool").mkdir(parents=True)
    return tmp_path / "home"
