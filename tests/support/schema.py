"""Where a database's schema stands: its Alembic revision, and the newest one we ship."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from lookup_events.config import Settings
from lookup_events.store import MIGRATIONS
from lookup_events.store.sql.engine import make_engine
from lookup_events.store.sql.schema import (
    annotation_counts,
    annotation_key_counts,
    dataset_annotations,
    dataset_counts,
    dataset_dependencies,
    dataset_fields,
    summary_counts,
)
from tests.support.stores import settings_for


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


@contextlib.contextmanager
def facet_table(url: str) -> Iterator[None]:
    """Give a database at a revision before 0008 the tables today's store writes facets to.

    Upgrade tests fill an old schema through today's store, which writes
    ``dataset_annotations`` (0008), ``dataset_dependencies`` (0010) and
    ``dataset_fields`` (0011) with every dataset; the tables are dropped
    again before the test upgrades, so the migrations create and fill them.
    """
    with dependency_table(url):
        engine = make_engine(url)
        try:
            dataset_annotations.create(engine)
            yield
        finally:
            dataset_annotations.drop(engine, checkfirst=True)
            engine.dispose()


@contextlib.contextmanager
def dependency_table(url: str) -> Iterator[None]:
    """Give a database at a revision before 0010 the table today's store writes links to.

    Dropped again before the test upgrades, so migration 0010 creates and fills it;
    ``dataset_fields`` (0011) likewise.
    """
    engine = make_engine(url)
    try:
        dataset_dependencies.create(engine)
        with field_table(url):
            yield
    finally:
        dataset_dependencies.drop(engine, checkfirst=True)
        engine.dispose()


@contextlib.contextmanager
def field_table(url: str) -> Iterator[None]:
    """Give a database at a revision before 0011 the table of structured-query values."""
    engine = make_engine(url)
    try:
        dataset_fields.create(engine)
        with stamp_column(url):
            yield
    finally:
        dataset_fields.drop(engine, checkfirst=True)
        engine.dispose()


@contextlib.contextmanager
def stamp_column(url: str) -> Iterator[None]:
    """Give a database at a revision before 0015 the column of dataset stamps.

    Dropped again before the test upgrades, so migration 0015 adds it.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE datasets ADD COLUMN stamp VARCHAR(64)")
        with count_table(url):
            yield
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE datasets DROP COLUMN stamp")
        engine.dispose()


@contextlib.contextmanager
def count_table(url: str) -> Iterator[None]:
    """Give a database at a revision before 0018 the tables of kept counts.

    ``dataset_counts`` (0018), ``summary_counts`` (0019), ``annotation_key_counts``
    and ``annotation_counts`` (0020) are dropped again before the test upgrades,
    so the migrations create and fill them.
    """
    engine = make_engine(url)
    tables = (dataset_counts, summary_counts, annotation_key_counts, annotation_counts)
    try:
        for table in tables:
            table.create(engine)
        yield
    finally:
        for table in tables:
            table.drop(engine, checkfirst=True)
        engine.dispose()


def old_schema_settings(url: str, data_dir: Path) -> Settings:
    """Return settings for stores on a schema older than 0012: no audit trail to write."""
    return dataclasses.replace(settings_for(url, data_dir), audit=False)
