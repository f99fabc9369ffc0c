"""Reading an old server's SQL database: users, base URIs, permissions, dataset URIs.

dtool-lookup-server 0.17 and 0.18 (Flask-SQLAlchemy) and dservercore kept
the same tables: ``user``, ``base_uri``, ``search_permissions``,
``register_permissions`` and ``dataset``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    exc,
    select,
)
from sqlalchemy import inspect as inspect_database
from sqlalchemy.engine import make_url

from lookup_events.errors import DatabaseUnavailable
from lookup_events.store.protocols import PermissionKind
from lookup_events.store.sql.engine import sql_url
from lookup_events.uris import normalise_uri

_old = MetaData()
_users = Table(
    "user", _old, Column("id", Integer), Column("username", String), Column("is_admin", Boolean)
)
_base_uris = Table("base_uri", _old, Column("id", Integer), Column("base_uri", String))
_datasets = Table("dataset", _old, Column("id", Integer), Column("uri", String))
_PERMISSION_TABLES: dict[PermissionKind, Table] = {
    kind: Table(
        f"{kind}_permissions", _old, Column("user_id", Integer), Column("base_uri_id", Integer)
    )
    for kind in ("search", "register")
}


@dataclass(frozen=True)
class OldDeployment:
    """What the old server's SQL database holds, in its registration order."""

    users: list[tuple[str, bool]]
    base_uris: list[str]
    permissions: list[tuple[str, str, PermissionKind]]
    dataset_uris: list[str] = field(default_factory=list)


def read_old_database(url: str) -> OldDeployment:
    """Read users, base URIs, permissions and dataset URIs from an old server's database.

    Raises:
        ValueError: ``url`` names no dtool-lookup-server database.
        DatabaseUnavailable: the database cannot be read.
    """
    parsed = make_url(sql_url(url))
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise ValueError(f"no SQLite database at {parsed.database!r}")
    # NOTE(dev): a plain engine, not ours: the old file keeps its journal mode.
    engine = create_engine(parsed)
    try:
        with engine.connect() as conn:
            tables = set(inspect_database(conn).get_table_names())
            missing = {"user", "base_uri"} - tables
            if missing:
                raise ValueError(
                    f"not a dtool-lookup-server database: no table {', '.join(sorted(missing))}"
                )
            _require_columns(conn, tables)
            return _read(conn, tables)
    except exc.OperationalError as ex:
        raise DatabaseUnavailable(f"cannot read the old database: {_cause(ex)}") from ex
    except exc.SQLAlchemyError as ex:
        raise ValueError(f"not a dtool-lookup-server database: {_cause(ex)}") from ex
    finally:
        engine.dispose()


def _require_columns(conn: Any, tables: set[str]) -> None:
    """Refuse tables named like an old server's that lack the columns read from them.

    NOTE(dev): without this, SQLite's "no such column" (an OperationalError) read
    as an unreachable database instead of a foreign one.
    """
    inspector = inspect_database(conn)
    wanted = [_users, _base_uris, _datasets, *_PERMISSION_TABLES.values()]
    for table in (table for table in wanted if table.name in tables):
        present = {column["name"] for column in inspector.get_columns(table.name)}
        absent = sorted(set(table.c.keys()) - present)
        if absent:
            raise ValueError(
                f"not a dtool-lookup-server database: table {table.name} has no column "
                + ", ".join(absent)
            )


def _cause(ex: exc.SQLAlchemyError) -> str:
    """Return what the driver said, without SQLAlchemy's SQL text and links."""
    cause = getattr(ex, "orig", None) or ex
    return str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__


def _read(conn: Any, tables: set[str]) -> OldDeployment:
    users = [(name, bool(admin)) for name, admin in conn.execute(_user_rows())]
    base_uris = [normalise_uri(row[0]) for row in conn.execute(_base_uri_rows())]
    permissions: list[tuple[str, str, PermissionKind]] = []
    for kind, table in _PERMISSION_TABLES.items():
        if table.name in tables:
            rows = conn.execute(_permission_rows(table))
            permissions.extend((user, normalise_uri(base), kind) for user, base in rows)
    uris: list[str] = []
    if "dataset" in tables:
        uris = [normalise_uri(row[0]) for row in conn.execute(select(_datasets.c.uri))]
    return OldDeployment(users, base_uris, permissions, uris)


def _user_rows() -> Any:
    return select(_users.c.username, _users.c.is_admin).order_by(_users.c.id)


def _base_uri_rows() -> Any:
    return select(_base_uris.c.base_uri).order_by(_base_uris.c.id)


def _permission_rows(table: Table) -> Any:
    return (
        select(_users.c.username, _base_uris.c.base_uri)
        .select_from(table)
        .join(_users, _users.c.id == table.c.user_id)
        .join(_base_uris, _base_uris.c.id == table.c.base_uri_id)
        .order_by(table.c.base_uri_id, table.c.user_id)
    )
