"""Stores: open the admin and dataset stores named by the settings.

``open_stores`` is the one place a backend is chosen from a URL, so callers
never name an implementation. ``upgrade_database`` applies the Alembic
migrations shipped in ``store/migrations``; it is idempotent and safe when
several processes start at once (PostgreSQL advisory lock; SQLite write lock).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, exc, func, select
from sqlalchemy.engine import make_url

from lookup_events.config import Settings
from lookup_events.errors import DatabaseUnavailable
from lookup_events.store.protocols import AdminStore, DatasetStore
from lookup_events.store.sql.admin import SqlAdminStore
from lookup_events.store.sql.datasets import SqlDatasetStore
from lookup_events.store.sql.engine import make_engine, sql_url, writer
from lookup_events.store.sql.revisions import revision_view

__all__ = ["Stores", "open_stores", "revision_view", "upgrade_database"]

MIGRATIONS = "lookup_events.store:migrations"
# NOTE(dev): any constant works as long as every process uses the same one.
_MIGRATION_LOCK_KEY = 0x64746F6F6C  # "dtool"
_MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")
_ALEMBIC_LOCK = threading.Lock()


@dataclass
class Stores:
    """The two stores a process works with."""

    admin: AdminStore
    datasets: DatasetStore

    def close(self) -> None:
        """Release both stores' connections."""
        self.datasets.close()
        self.admin.close()


def open_stores(settings: Settings, mongo_client: Callable[..., Any] | None = None) -> Stores:
    """Open the admin store and the dataset store named by ``settings``.

    A ``mongodb://`` or ``mongodb+srv://`` dataset store URL opens a
    ``MongoDatasetStore`` (made by ``mongo_client``, pymongo's by default);
    the admin store is always SQL.

    Raises:
        ValueError: a URL names a backend this build cannot open.
    """
    admin_url = settings.database_url
    dataset_url = settings.dataset_store_url or admin_url
    if admin_url.startswith(_MONGO_SCHEMES):
        raise ValueError(
            "the admin store (DTOOL_LOOKUP_DATABASE_URL) needs an SQL URL "
            "(sqlite:///... or postgresql://...); MongoDB can hold only the dataset store "
            "(DTOOL_LOOKUP_DATASET_STORE_URL)"
        )
    admin_engine = make_engine(admin_url)
    follow = settings.cache_notify
    datasets: DatasetStore
    if dataset_url.startswith(_MONGO_SCHEMES):
        datasets = _open_mongo(settings, dataset_url, mongo_client)
    elif dataset_url == admin_url:
        datasets = SqlDatasetStore(admin_engine, follow)
    else:
        datasets = SqlDatasetStore(make_engine(dataset_url), follow)
    return Stores(admin=SqlAdminStore(admin_engine, follow), datasets=datasets)


def _open_mongo(settings: Settings, url: str, client: Callable[..., Any] | None) -> DatasetStore:
    try:
        from lookup_events.store.mongo.datasets import (  # noqa: PLC0415 (optional extra)
            MongoDatasetStore,
        )
    except ImportError as ex:
        raise ValueError(f"a MongoDB dataset store needs pymongo: {ex}") from ex
    database, collection = settings.mongo_db, settings.mongo_collection
    if client is None:
        return MongoDatasetStore.from_url(url, database, collection)
    return MongoDatasetStore.from_url(url, database, collection, client)


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` of the schema (the newest by default).

    Raises:
        DatabaseUnavailable: the database cannot be reached.
    """
    parsed = make_url(sql_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        with writer(engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
            _upgrade(connection, revision)
    except exc.SQLAlchemyError as ex:
        raise DatabaseUnavailable(f"cannot migrate the database: {ex}") from ex
    finally:
        engine.dispose()


def _upgrade(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    # NOTE(dev): Alembic's ``context`` and ``op`` are module globals: one at a time.
    with _ALEMBIC_LOCK:
        command.upgrade(config, revision)
