"""Stores: open the admin and dataset stores at the URLs a ``StoreConfig`` names.

``open_stores`` is the one place a backend is chosen from a URL, so callers
never name an implementation. The store knows nothing above it: it is handed
the URLs (``Settings`` has them), not the settings. The schema of the SQL
stores is created and migrated by ``upgrade.upgrade_database``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lookup_events.store.audit import AuditLog, MergedAuditLog
from lookup_events.store.feeds import ChangeFeed, SubscriptionStore
from lookup_events.store.protocols import AdminStore, DatasetStore
from lookup_events.store.sql.admin import SqlAdminStore
from lookup_events.store.sql.audit import SqlAuditLog
from lookup_events.store.sql.datasets import SqlDatasetStore
from lookup_events.store.sql.engine import make_engine
from lookup_events.store.sql.outbox import SqlChangeFeed
from lookup_events.store.sql.revisions import (
    close_revision_view,
    open_revision_view,
    revision_view,
)
from lookup_events.store.sql.subscriptions import SqlSubscriptionStore
from lookup_events.store.upgrade import MIGRATIONS, SchemaStatus, schema_status, upgrade_database

if TYPE_CHECKING:
    from lookup_events.store.mongo.datasets import MongoDatasetStore

__all__ = [
    "MIGRATIONS",
    "SchemaStatus",
    "StoreConfig",
    "Stores",
    "close_revision_view",
    "is_sql",
    "open_revision_view",
    "open_stores",
    "revision_view",
    "schema_status",
    "upgrade_database",
]

MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")


class StoreConfig(Protocol):
    """Where the stores live and how they follow each other's writes (``Settings`` fits)."""

    @property
    def database_url(self) -> str:
        """SQL URL of the admin store (and of the dataset store by default)."""

    @property
    def dataset_store_url(self) -> str:
        """URL of the dataset store: SQL, or ``mongodb://``."""

    @property
    def cache_notify(self) -> bool:
        """Whether PostgreSQL readers follow writes by LISTEN/NOTIFY."""

    @property
    def query_timeout(self) -> float:
        """Seconds a read may run before it is stopped (0: unbounded)."""

    @property
    def mongo_db(self) -> str:
        """MongoDB database of a MongoDB dataset store."""

    @property
    def mongo_collection(self) -> str:
        """MongoDB collection of a MongoDB dataset store."""

    @property
    def audit(self) -> bool:
        """Whether writes leave entries in the audit trail."""

    @property
    def subscriptions(self) -> bool:
        """Whether dataset writes fill the outbox subscriptions are notified from."""


@dataclass
class Stores:
    """The two stores a process works with, and the audit trail of their changes."""

    admin: AdminStore
    datasets: DatasetStore
    audit: AuditLog
    # Both set when subscriptions are on, else None.
    subscriptions: SubscriptionStore | None = None
    changes: ChangeFeed | None = None

    def close(self) -> None:
        """Release both stores' connections."""
        self.datasets.close()
        self.admin.close()


def is_sql(url: str) -> bool:
    """Tell whether a store URL names an SQL database (not MongoDB)."""
    return not url.startswith(MONGO_SCHEMES)


def open_stores(
    config: StoreConfig,
    mongo_client: Callable[..., Any] | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Stores:
    """Open the admin store and the dataset store named by ``config``.

    A ``mongodb://`` or ``mongodb+srv://`` dataset store URL opens a
    ``MongoDatasetStore`` (made by ``mongo_client``, pymongo's by default);
    the admin store is always SQL. ``clock`` dates the audit entries.

    Raises:
        ValueError: a URL names a backend this build cannot open.
    """
    admin_url = config.database_url
    dataset_url = config.dataset_store_url or admin_url
    if not is_sql(admin_url):
        raise ValueError(
            "the admin store (DTOOL_LOOKUP_DATABASE_URL) needs an SQL URL "
            "(sqlite:///... or postgresql://...); MongoDB can hold only the dataset store "
            "(DTOOL_LOOKUP_DATASET_STORE_URL)"
        )
    admin_engine = make_engine(admin_url)
    follow, audit, timeout = config.cache_notify, config.audit, config.query_timeout
    admin = SqlAdminStore(admin_engine, follow, audit=audit, clock=clock)
    if not is_sql(dataset_url):
        mongo = _open_mongo(config, dataset_url, mongo_client, clock)
        # NOTE(dev): dataset entries live beside the MongoDB datasets.
        trail = MergedAuditLog(SqlAuditLog(admin_engine), mongo)
        stores = Stores(admin=admin, datasets=mongo, audit=trail)
        if config.subscriptions:
            # NOTE(dev): the outbox too; saved searches stay in the admin store.
            stores.subscriptions = SqlSubscriptionStore(admin_engine)
            stores.changes = mongo
        return stores
    dataset_engine = admin_engine if dataset_url == admin_url else make_engine(dataset_url)
    datasets = SqlDatasetStore(
        dataset_engine,
        follow,
        outbox=config.subscriptions,
        audit=audit,
        clock=clock,
        query_timeout=timeout,
    )
    # NOTE(dev): two SQL databases: each holds the entries of its own changes.
    audit_log: AuditLog = SqlAuditLog(admin_engine)
    if dataset_engine is not admin_engine:
        audit_log = MergedAuditLog(audit_log, SqlAuditLog(dataset_engine))
    stores = Stores(admin=admin, datasets=datasets, audit=audit_log)
    if config.subscriptions:
        stores.subscriptions = SqlSubscriptionStore(admin_engine)
        stores.changes = SqlChangeFeed(dataset_engine)
    return stores


def _open_mongo(
    config: StoreConfig,
    url: str,
    client: Callable[..., Any] | None,
    clock: Callable[[], float],
) -> MongoDatasetStore:
    try:
        from lookup_events.store.mongo.datasets import (  # noqa: PLC0415 (optional extra)
            MongoDatasetStore,
        )
    except ImportError as ex:
        raise ValueError(f"a MongoDB dataset store needs pymongo: {ex}") from ex
    database, collection = config.mongo_db, config.mongo_collection
    options: dict[str, Any] = {
        "audit": config.audit,
        "outbox": config.subscriptions,
        "clock": clock,
        "query_timeout": config.query_timeout,
    }
    if client is None:
        return MongoDatasetStore.from_url(url, database, collection, **options)
    return MongoDatasetStore.from_url(url, database, collection, client, **options)
