"""Where a database's schema stands: its Alembic revision, and the newest one we ship."""

from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from lookup_events.store import MIGRATIONS
from lookup_events.store.sql.engine import make_engine


def current_revision(url: str) -> str | None:
    """Return the Alembic revision the database is at."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """Return the newest revision shipped in the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return ScriptDirectory.from_config(config).get_current_head()
