"""A SQLite deployment that a test loads, served by gunicorn for the released clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from lookup_events.store import Stores, open_stores, upgrade_database
from tests.bench.server import gunicorn, server_environment
from tests.support.stores import settings_for


@contextmanager
def served_deployment(
    data_dir: Path,
    public_pem: str,
    load: Callable[[Stores], None],
    settings: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Migrate a SQLite database in ``data_dir``, ``load`` it, serve it; yield the base URL."""
    database = f"sqlite:///{data_dir / 'lookup.db'}"
    upgrade_database(database)
    stores = open_stores(settings_for(database, data_dir))
    try:
        load(stores)
    finally:
        stores.close()
    env = server_environment(
        {
            "DTOOL_LOOKUP_DATA_DIR": str(data_dir),
            "DTOOL_LOOKUP_DATABASE_URL": database,
            "JWT_PUBLIC_KEY": public_pem,
            **(settings or {}),
        }
    )
    with gunicorn("lookup_api.wsgi:app", env, data_dir) as server:
        yield f"http://127.0.0.1:{server.port}"
