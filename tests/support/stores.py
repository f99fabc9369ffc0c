"""Store backends for the tests: settings naming a database, every backend by name, and
``Capture``, which records the statements any engine sends.

``BACKENDS`` maps each backend to a function returning the URL of a migrated,
empty database (for the MongoDB ones, of an empty dataset store); the
functions ask pytest for the fixtures behind them (``tests/conftest.py``).
A new backend is one more entry there and one more parameter below, and the
contract suites (``tests/lookup_events/store/test_*_contract.py``) run on it.

The dataset store has MongoDB backends too: ``mongomock``, an in-process
stand-in that runs everything but ``$text``, and ``mongo``, a real server,
collected only when ``DTOOL_LOOKUP_TEST_MONGO_URI`` is set. Their admin store
is SQLite.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from lookup_events.config import Settings
from lookup_events.store import Stores, open_stores
from tests.support.postgres import empty_postgres

MONGO_TEST_URI = os.environ.get("DTOOL_LOOKUP_TEST_MONGO_URI", "")
MONGOMOCK_URL = "mongodb://mongomock.invalid:27017"
MONGO_COLLECTION = "datasets"


def settings_for(url: str, data_dir: Path) -> Settings:
    """Return settings whose admin and dataset stores live at ``url``."""
    return Settings(data_dir=data_dir, database_url=url).completed()


def _sqlite_database(request: pytest.FixtureRequest) -> str:
    # NOTE(dev): copying a file migrated once is ten times faster than migrating.
    template: Path = request.getfixturevalue("_migrated_sqlite_file")
    path = request.getfixturevalue("tmp_path") / "lookup.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def _postgres_database(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("_migrated_postgres_url")
    empty_postgres(url)
    return url


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
            for suffix in ("", "_counters", "_audit", "_outbox"):
                client[name].drop_collection(f"{MONGO_COLLECTION}{suffix}")
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
        mongo_collection=MONGO_COLLECTION,
    )
    if name == "mongo":
        return StoreBackend(settings)
    import mongomock

    server = request.getfixturevalue("mongomock_server")
    return StoreBackend(settings, functools.partial(mongomock.MongoClient, _store=server))


class Capture:
    """Within the block, record every statement any engine sends and on which connection."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.connections: list[Any] = []

    def __enter__(self) -> Capture:
        event.listen(Engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(Engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        self.statements.append((sql, parameters))
        self.connections.append(cursor.connection)
