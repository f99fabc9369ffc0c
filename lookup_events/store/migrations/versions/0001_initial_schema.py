"""Initial schema: users, base URIs, permissions, datasets, tags, revisions.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 04:28:19.370502
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def _permission_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("base_uri_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_uri_id"],
            ["base_uris.id"],
            name=op.f(f"fk_{name}_base_uri_id_base_uris"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f(f"fk_{name}_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "base_uri_id", name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_base_uri_id"), name, ["base_uri_id"])


def _admin_tables() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", _string(255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "base_uris",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_uri", _string(1024), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_base_uris")),
        sa.UniqueConstraint("base_uri", name=op.f("uq_base_uris_base_uri")),
    )
    _permission_table("search_permissions")
    _permission_table("register_permissions")


def _dataset_tables() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", _string(2048), nullable=False),
        sa.Column("base_uri", _string(1024), nullable=False),
        sa.Column("uuid", _string(36), nullable=False),
        sa.Column("name", _string(1024), nullable=False),
        sa.Column("type", _string(64), nullable=False),
        sa.Column("creator_username", _string(255), nullable=False),
        sa.Column("frozen_at", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("number_of_items", sa.BigInteger(), nullable=True),
        sa.Column("size_in_bytes", sa.BigInteger(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("readme", sa.Text(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("uri", name=op.f("uq_datasets_uri")),
    )
    for name, columns in (
        ("ix_datasets_base_uri_id", ["base_uri", "id"]),
        ("ix_datasets_id_filters", ["id", "base_uri", "creator_username", "uuid"]),
        ("ix_datasets_creator_username", ["creator_username", "base_uri", "size_in_bytes"]),
        ("ix_datasets_facets", ["base_uri", "creator_username", "size_in_bytes"]),
        ("ix_datasets_uri_base_uri", ["uri", "base_uri"]),
        ("ix_datasets_name", ["name", "base_uri"]),
        ("ix_datasets_frozen_at", ["frozen_at", "base_uri"]),
        ("ix_datasets_created_at", ["created_at", "base_uri"]),
        ("ix_datasets_uuid", ["uuid", "base_uri"]),
    ):
        op.create_index(name, "datasets", columns)
    op.create_table(
        "dataset_tags",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("tag", _string(255), nullable=False),
        sa.Column("base_uri", _string(1024), nullable=False),
        sa.Column("size_in_bytes", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_tags_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "tag", name=op.f("pk_dataset_tags")),
    )
    op.create_index(
        "ix_dataset_tags_facets",
        "dataset_tags",
        ["tag", "base_uri", "size_in_bytes", "dataset_id"],
    )
    op.create_table(
        "dataset_texts",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("filter_terms", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_texts_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_dataset_texts")),
    )


def _revisions() -> None:
    table = op.create_table(
        "revisions",
        sa.Column("name", _string(32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_revisions")),
    )
    op.bulk_insert(table, [{"name": "datasets", "value": 0}, {"name": "admin", "value": 0}])


_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE dataset_fts USING fts5(search_text, filter_terms, "
    "content='dataset_texts', content_rowid='dataset_id', tokenize='porter unicode61')",
    "CREATE TRIGGER dataset_texts_fts_insert AFTER INSERT ON dataset_texts BEGIN "
    "INSERT INTO dataset_fts(rowid, search_text, filter_terms) "
    "VALUES (new.dataset_id, new.search_text, new.filter_terms); END",
    "CREATE TRIGGER dataset_texts_fts_delete AFTER DELETE ON dataset_texts BEGIN "
    "INSERT INTO dataset_fts(dataset_fts, rowid, search_text, filter_terms) "
    "VALUES ('delete', old.dataset_id, old.search_text, old.filter_terms); END",
    "CREATE TRIGGER dataset_texts_fts_update AFTER UPDATE OF search_text, filter_terms "
    "ON dataset_texts BEGIN "
    "INSERT INTO dataset_fts(dataset_fts, rowid, search_text, filter_terms) "
    "VALUES ('delete', old.dataset_id, old.search_text, old.filter_terms); "
    "INSERT INTO dataset_fts(rowid, search_text, filter_terms) "
    "VALUES (new.dataset_id, new.search_text, new.filter_terms); END",
)
# NOTE(dev): a tsvector holds at most 1 MB; the first 300,000 characters of a huge
# manifest are indexed rather than refusing the dataset. The filter terms are
# lexemes as they are (see ``store.text.filter_term``).
_POSTGRES_FTS = (
    "ALTER TABLE dataset_texts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('english'::regconfig, left(search_text, 300000)) "
    "|| array_to_tsvector(string_to_array(filter_terms, ' '))) STORED",
    "CREATE INDEX ix_dataset_texts_search_vector ON dataset_texts USING gin (search_vector)",
)


def upgrade() -> None:
    """Create every table, the free-text index and the revision counters."""
    _admin_tables()
    _dataset_tables()
    _revisions()
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_FTS, "postgresql": _POSTGRES_FTS}.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    """Drop everything ``upgrade`` made."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS dataset_fts")
    for table in (
        "revisions",
        "dataset_texts",
        "dataset_tags",
        "datasets",
        "register_permissions",
        "search_permissions",
        "base_uris",
        "users",
    ):
        op.drop_table(table)
