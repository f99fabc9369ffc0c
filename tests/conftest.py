"""Shared fixtures: real databases, migrated and empty for every test.

``stores`` runs a test once per backend (SQLite, PostgreSQL); a new backend
is one more entry in ``BACKENDS`` (``tests/support/stores.py``). PostgreSQL
tests use one database per session, named ``dtool_lookup_test_<random>``,
emptied before each test; they are skipped when the server is down, and fail
instead under ``CI=true``.

The dataset store has MongoDB backends too (``DATASET_BACKEND_PARAMS``):
``mongomock``, an in-process stand-in that runs everything but ``$text``, and
``mongo``, a real server, collected only when ``DTOOL_LOOKUP_TEST_MONGO_URI``
is set (one database per session, dropped at the end). Their admin store is
SQLite.

Tests that run ``dtool-lookup`` processes (fault, infra, benchmark smoke) get
a RabbitMQ virtual host of their own (``rabbit``) and fast real frozen
datasets (``factory``).

AWS comes from one moto server per session on 127.0.0.1 (``moto_endpoint``);
``aws`` gives boto3 clients on it (``tests/support/aws.py``).

The released clients' tests (``test_dtool_lookup_*.py``) get a gunicorn
serving the anchor data (``server_url``, one per module), the tokens it
trusts (``tokens``) and a home directory of their own (``home``).

Helpers live in ``tests/support/``; this file only defines fixtures.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lookup_events.store import Stores, open_stores, upgrade_database
from lookup_events.store.sql.engine import sql_url
from lookup_events.tokens import issue_token
from tests.support.api import KeyPair, key_pair
from tests.support.aws import REGION, Aws
from tests.support.data import load_anchor_data
from tests.support.datasets import DatasetFactory
from tests.support.postgres import DEFAULT_POSTGRES_URL
from tests.support.rabbitmq import RabbitVhost, require_rabbitmqctl
from tests.support.served import served_deployment
from tests.support.servers import require_service
from tests.support.stores import (
    BACKEND_PARAMS,
    BACKENDS,
    DATASET_BACKEND_PARAMS,
    MONGO_TEST_URI,
    StoreBackend,
    settings_for,
    store_backend,
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers of the MongoDB dataset-store backends."""
    config.addinivalue_line(
        "markers", "mongomock: dataset store on mongomock, an in-process MongoDB stand-in"
    )
    config.addinivalue_line(
        "markers", "mongo: needs the MongoDB server named by DTOOL_LOOKUP_TEST_MONGO_URI"
    )


@pytest.fixture
def rabbit() -> Iterator[RabbitVhost]:
    """A RabbitMQ virtual host of the test's own, deleted afterwards."""
    require_rabbitmqctl()
    with RabbitVhost() as vhost:
        yield vhost


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[DatasetFactory]:
    """Makes frozen datasets in ``tmp_path/base``."""
    made = DatasetFactory(tmp_path / "base")
    yield made
    made.close()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Run one moto server (S3, SQS, SNS, EventBridge, in memory) on a free loopback port."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """boto3 clients on the moto server; the default credential chain points there too."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return Aws(moto_endpoint)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """Return the URL of a new (not yet migrated) SQLite file."""
    return f"sqlite:///{tmp_path / 'lookup.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Create a uniquely named PostgreSQL database for the session; drop it at the end."""
    server = make_url(
        sql_url(os.environ.get("DTOOL_LOOKUP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    )
    require_service("PostgreSQL", server.host or "127.0.0.1", server.port or 5432)
    name = f"dtool_lookup_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _migrated_postgres_url(postgres_url: str) -> str:
    upgrade_database(postgres_url)
    return postgres_url


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "lookup.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _mongomock_compatible() -> Iterator[None]:
    """Let mongomock 4.3 take the bulk operations of pymongo 4.11 and later.

    NOTE(dev): pymongo's ``UpdateOne`` passes ``sort=`` to the bulk builder,
    an argument mongomock 4.3 predates; it is None for our operations.
    """
    import mongomock.collection

    builder = mongomock.collection.BulkOperationBuilder
    original = builder.add_update

    def add_update(self: Any, *args: Any, sort: Any = None, **kwargs: Any) -> Any:
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builder, "add_update", add_update)
        yield


@pytest.fixture
def mongomock_server(_mongomock_compatible: None) -> Any:
    """Return a fresh in-memory mongomock server, shared by the clients of one test."""
    import mongomock.store

    return mongomock.store.ServerStore()


@pytest.fixture(scope="session")
def mongo_database() -> Iterator[str]:
    """Name a MongoDB database for the session; drop it at the end (real server only)."""
    name = f"dtool_lookup_test_{secrets.token_hex(6)}"
    yield name
    if MONGO_TEST_URI:
        import pymongo
        from pymongo.errors import PyMongoError

        client: Any = pymongo.MongoClient(MONGO_TEST_URI, serverSelectionTimeoutMS=5000)
        with client, contextlib.suppress(PyMongoError):
            client.drop_database(name)


@pytest.fixture
def sqlite_url_migrated(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated, empty SQLite database."""
    return BACKENDS["sqlite"](request)


@pytest.fixture
def postgres_url_migrated(request: pytest.FixtureRequest) -> str:
    """The URL of the session's migrated PostgreSQL database, emptied."""
    return BACKENDS["postgres"](request)


@pytest.fixture(params=BACKEND_PARAMS)
def database_url(request: pytest.FixtureRequest) -> str:
    """Return the URL of a migrated, empty database on each SQL backend."""
    return BACKENDS[request.param](request)


@pytest.fixture
def stores(database_url: str, tmp_path: Path) -> Iterator[Stores]:
    """Open empty, migrated stores on each backend; close them afterwards."""
    opened = open_stores(settings_for(database_url, tmp_path))
    yield opened
    opened.close()


@pytest.fixture
def sqlite_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Open empty, migrated stores on SQLite only."""
    opened = open_stores(settings_for(BACKENDS["sqlite"](request), tmp_path))
    yield opened
    opened.close()


@pytest.fixture(params=DATASET_BACKEND_PARAMS)
def dataset_backend(request: pytest.FixtureRequest) -> str:
    """Name each backend of the dataset store contract in turn."""
    return str(request.param)


@pytest.fixture
def backend(request: pytest.FixtureRequest, dataset_backend: str, tmp_path: Path) -> StoreBackend:
    """Return how to open empty stores on each dataset-store backend."""
    return store_backend(request, dataset_backend, tmp_path)


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
    with served_deployment(data_dir, server_keys.public_pem, load_anchor_data) as url:
        yield url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A scratch home directory holding the client's dtool configuration."""
    (tmp_path / "home" / ".config" / "dtool").mkdir(parents=True)
    return tmp_path / "home"
