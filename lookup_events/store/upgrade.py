"""The SQL stores' schema: Alembic migrations applied, and where a database stands.

``upgrade_database`` applies the migrations shipped in ``store/migrations``;
it is idempotent and safe when several processes start at once (PostgreSQL
advisory lock; SQLite write lock). ``schema_status`` says which revision a
database is at and which one this code needs, so a process can refuse to
start on a schema it does not know instead of failing on its first query.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, exc, func, select
from sqlalchemy.engine import make_url

from lookup_events.errors import DatabaseUnavailable
from lookup_events.store.sql.engine import make_engine, sql_url, writer

MIGRATIONS = "lookup_events.store:migrations"
# NOTE(dev): any constant works as long as every process uses the same one.
_MIGRATION_LOCK_KEY = 0x64746F6F6C  # "dtool"
_ALEMBIC_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """The schema revision a database is at (None: no schema) and the one we need."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        """Whether the database holds exactly the schema this code needs."""
        return self.current == self.head


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


def head_revision() -> str:
    """Return the newest schema revision shipped with this code."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def schema_status(url: str) -> SchemaStatus:
    """Return the revision of the database at ``url`` and the one this code needs.

    Raises:
        DatabaseUnavailable: the database cannot be reached.
    """
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        return SchemaStatus(None, head_revision())  # asking would create an empty file
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except exc.SQLAlchemyError as ex:
        raise DatabaseUnavailable(f"cannot read the database's schema revision: {ex}") from ex
    finally:
        engine.dispose()
    return SchemaStatus(current, head_revision())


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` of the schema (the newest by default).

    Raises:
        DatabaseUnavailable: the database cannot be reached.
    """
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
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


def _sqlite_path(url: str) -> Path | None:
    """Return the file of a SQLite URL (None: another database, or in memory)."""
    parsed = make_url(sql_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def _upgrade(connection: Connection, revision: str) -> None:
    config = _config()
    config.attributes["connection"] = connection
    # NOTE(dev): Alembic's ``context`` and ``op`` are module globals: one at a time.
    with _ALEMBIC_LOCK:
        command.upgrade(config, revision)
