"""Shared fixtures: real databases, migrated and empty for every test.

``stores`` runs a test once per backend (SQLite, PostgreSQL); a new backend
is one more entry in ``BACKENDS``. PostgreSQL tests use one database per
session, named ``dtool_lookup_test_<random>``, emptied before each test; they
are skipped when the server is down, and fail instead under ``CI=true``.

The dataset store has MongoDB backends too (``DATASET_BACKEND_PARAMS``):
``mongomock``, an in-process stand-in that runs everything but ``$text``, and
``mongo``, a real server, collected only when ``DTOOL_LOOKUP_TEST_MONGO_URI``
is set (one database per session, dropped at the end). Their admin store is
SQLite.

Tests that run ``dtool-lookup`` processes (fault, infra, benchmark smoke) get
a RabbitMQ virtual host of their own (``rabbit``) and fast real frozen
datasets (``factory``), from ``tests/support/processes.py``.

AWS comes from one moto server per session on 127.0.0.1 (``moto_endpoint``);
``aws`` gives boto3 clients on it (``tests/support/aws.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lookup_events.config import Settings
from lookup_events.store import Stores, open_stores, upgrade_database
from lookup_events.store.sql.engine import sql_url
from tests.support.aws import REGION, Aws
from tests.support.processes import AMQP_URL, DatasetFactory, RabbitVhost

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_DATA_TABLES = (
    "search_permissions",
    "register_permissions",
    "dataset_tags",
    "dataset_texts",
    "datasets",
    "users",
    "base_uris",
)


def require_service(name: str, host: str, port: int) -> None:
    """Skip the test when ``host:port`` is closed (fail under ``CI=true``)."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as ex:
        reason = f"{name} is not reachable on {host}:{port} ({ex})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def require_rabbitmqctl() -> None:
    """Skip (fail under CI=true) when RabbitMQ or its control command is missing."""
    parts = urlsplit(AMQP_URL)
    require_service("RabbitMQ", parts.hostname or "127.0.0.1", parts.port or 5672)
    if shutil.which("rabbitmqctl") is None:
        reason = "rabbitmqctl is not on PATH"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


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


def libpq_dsn(url: str) -> str:
    """Return a PostgreSQL URL as libpq (and so ``psycopg.connect``) takes it: no driver name."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def terminate_other_backends(url: str) -> None:
    """Close every other server connection to the database at ``url``, as a restart would."""
    with psycopg.connect(libpq_dsn(url), autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


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


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        # NOTE(dev): DELETE beats TRUNCATE on the few rows a test leaves behind.
        for table in _DATA_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("UPDATE revisions SET value = value + 1"))
    engine.dispose()


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "lookup.db"
    upgrade_database(f"sqlite:///{path}")
    return path


def _sqlite_database(request: pytest.FixtureRequest) -> str:
    # NOTE(dev): copying a file migrated once is ten times faster than migrating.
    template: Path = request.getfixturevalue("_migrated_sqlite_file")
    path = request.getfixturevalue("tmp_path") / "lookup.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def _postgres_database(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("_migrated_postgres_url")
    _empty_postgres(url)
    return url


MONGO_TEST_URI = os.environ.get("DTOOL_LOOKUP_TEST_MONGO_URI", "")
MONGOMOCK_URL = "mongodb://mongomock.invalid:27017"
_MONGO_COLLECTION = "datasets"


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers of the MongoDB dataset-store backends."""
    config.addinivalue_line(
        "markers", "mongomock: dataset store on mongomock, an in-process MongoDB stand-in"
    )
    config.addinivalue_line(
        "markers", "mongo: needs the MongoDB server named by DTOOL_LOOKUP_TEST_MONGO_URI"
    )


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


def _mongomock_database(request: pytest.FixtureRequest) -> str:
    request.getfixturevalue("mongomock_server")  # a fresh, empty server per test
    return MONGOMOCK_URL


def _mongo_database(request: pytest.FixtureRequest) -> str:
    import pymongo
    from pymongo.errors import PyMongoError

    name: str = request.getfixturevalue("mongo_database")
    client: Any = pymongo.MongoClient(MONGO_TEST_URI, serverSelectionTimeoutMS=5000)
    try:
        with client:
            for collection in (_MONGO_COLLECTION, f"{_MONGO_COLLECTION}_counters"):
                client[name].drop_collection(collection)
    except PyMongoError as ex:
        # NOTE(dev): the variable asks for this server, so a dead one is a failure.
        pytest.fail(f"MongoDB at DTOOL_LOOKUP_TEST_MONGO_URI is not usable: {ex}")
    return MONGO_TEST_URI


# Each backend: a function returning the URL of a migrated, empty database
# (for the MongoDB ones, of an empty dataset store).
BACKENDS: dict[str, Callable[[pytest.FixtureRequest], str]] = {
    "sqlite": _sqlite_database,
    "postgres": _postgres_database,
    "mongomock": _mongomock_database,
    "mongo": _mongo_database,
}
MONGO_BACKENDS = frozenset({"mongomock", "mongo"})
BACKEND_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
# Backends of the dataset store contract; ``TEXT_BACKEND_PARAMS`` can run ``$text``.
TEXT_BACKEND_PARAMS = [
    *BACKEND_PARAMS,
    *([pytest.param("mongo", id="mongo", marks=pytest.mark.mongo)] if MONGO_TEST_URI else []),
]
DATASET_BACKEND_PARAMS = [
    *TEXT_BACKEND_PARAMS,
    pytest.param("mongomock", id="mongomock", marks=pytest.mark.mongomock),
]


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


def settings_for(url: str, data_dir: Path) -> Settings:
    """Return settings whose admin and dataset stores live at ``url``."""
    return Settings(data_dir=data_dir, database_url=url).completed()


@pytest.fixture
def stores(database_url: str, tmp_path: Path) -> Iterator[Stores]:
    """Open empty, migrated stores on each backend; close them afterwards."""
    opened = open_stores(settings_for(database_url, tmp_path))
    yield opened
    opened.close()


@pytest.fixture
def sqlite_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Open empty, migrated stores on SQLite only."""
    opened = open_stores(settings_for(_sqlite_database(request), tmp_path))
    yield opened
    opened.close()


@dataclass(frozen=True)
class StoreBackend:
    """Opens stores on one backend: its settings and, for mongomock, its client."""

    settings: Settings
    mongo_client: Callable[..., Any] | None = None

    def open(self) -> Stores:
        """Open (more) stores on this backend's databases."""
        return open_stores(self.settings, self.mongo_client)


def store_backend(request: pytest.FixtureRequest, name: str, data_dir: Path) -> StoreBackend:
    """Return how to open empty stores on backend ``name`` (see ``BACKENDS``)."""
    url = BACKENDS[name](request)
    if name not in MONGO_BACKENDS:
        return StoreBackend(settings_for(url, data_dir))
    settings = dataclasses.replace(
        settings_for(_sqlite_database(request), data_dir),
        dataset_store_url=url,
        mongo_db=request.getfixturevalue("mongo_database"),
        mongo_collection=_MONGO_COLLECTION,
    )
    if name == "mongo":
        return StoreBackend(settings)
    import mongomock

    server = request.getfixturevalue("mongomock_server")
    return StoreBackend(settings, functools.partial(mongomock.MongoClient, _store=server))


@pytest.fixture(params=DATASET_BACKEND_PARAMS)
def dataset_backend(request: pytest.FixtureRequest) -> str:
    """Name each backend of the dataset store contract in turn."""
    return str(request.param)


@pytest.fixture
def backend(request: pytest.FixtureRequest, dataset_backend: str, tmp_path: Path) -> StoreBackend:
    """Return how to open empty stores on each dataset-store backend."""
    return store_backend(request, dataset_backend, tmp_path)
