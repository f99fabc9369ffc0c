"""Alembic environment: migrate the connection given by ``upgrade_database``.

Run from the command line (``alembic -x url=sqlite:///... upgrade head``) it
opens its own connection. The free-text objects made by hand in the
migrations (FTS5 tables, the tsvector column and index) are hidden from
autogenerate, which cannot see them in the models.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from lookup_events.store.sql.engine import make_engine, writer
from lookup_events.store.sql.schema import Base, include_object


def run_migrations(connection: Connection) -> None:
    """Run the migrations on ``connection`` inside its transaction."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Migrate the given connection, or one opened from ``-x url=...``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database with -x url=...")
    engine = make_engine(url)
    with writer(engine).begin() as opened:
        run_migrations(opened)
    engine.dispose()


main()
