"""The PostgreSQL server the tests use: its URL, libpq's spelling of it, emptying and restarts."""

from __future__ import annotations

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATA_TABLES = (
    "subscription_deliveries",
    "subscription_matches",
    "subscriptions",
    "dataset_changes",
    "search_permissions",
    "register_permissions",
    "dataset_tags",
    "dataset_texts",
    "datasets",
    "audit_entries",
    "users",
    "base_uris",
    "dataset_annotations",
    "dataset_counts",
    "summary_counts",
    "annotation_counts",
    "annotation_key_counts",
)


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


def empty_postgres(url: str) -> None:
    """Delete every row of the migrated database at ``url``; move its revisions on."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        # NOTE(dev): DELETE beats TRUNCATE on the few rows a test leaves behind.
        for table in DATA_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("UPDATE revisions SET value = value + 1"))
    engine.dispose()
