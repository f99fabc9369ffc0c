"""Shared fixtures: real databases, migrated and empty for every test.

``stores`` runs a test once per backend (SQLite, PostgreSQL); a new backend
is one more entry in ``BACKENDS``. PostgreSQL tests use one database per
session, named ``dtool_lookup_test_<random>``, emptied before each test; they
are skipped when the server is down, and fail instead under ``CI=true``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lookup_events.config import Settings
from lookup_events.store import Stores, open_stores, upgrade_database
from lookup_events.store.sql_engine import sql_url

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


# Each backend: a function returning the URL of a migrated, empty database.
BACKENDS: dict[str, Callable[[pytest.FixtureRequest], str]] = {
    "sqlite": _sqlite_database,
    "postgres": _postgres_database,
}
BACKEND_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


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
