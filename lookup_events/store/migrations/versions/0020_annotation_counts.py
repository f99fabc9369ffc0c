"""Annotation counts: datasets per base URI and annotation key, and per pair, kept by writes.

The registrar keeps ``annotation_key_counts`` and ``annotation_counts`` in the
transaction of every write (``sql.counts``), so annotation facets over base
URIs alone sum their rows instead of grouping every dataset's annotations;
the keys and pairs already there are counted here.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | None = None
depends_on: str | None = None


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    """Create the tables and count the annotation keys and pairs already there."""
    op.create_table(
        "annotation_key_counts",
        sa.Column("base_uri", _string(1024), nullable=False),
        sa.Column("key", _string(255), nullable=False),
        sa.Column("datasets", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("base_uri", "key", name=op.f("pk_annotation_key_counts")),
    )
    op.execute(
        "INSERT INTO annotation_key_counts (base_uri, key, datasets) "
        "SELECT base_uri, key, count(*) FROM dataset_annotations GROUP BY base_uri, key"
    )
    op.create_table(
        "annotation_counts",
        sa.Column("base_uri", _string(1024), nullable=False),
        sa.Column("key", _string(255), nullable=False),
        sa.Column("value", _string(256), nullable=False),
        sa.Column("datasets", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("base_uri", "key", "value", name=op.f("pk_annotation_counts")),
    )
    op.execute(
        "INSERT INTO annotation_counts (base_uri, key, value, datasets) "
        "SELECT base_uri, key, value, count(*) FROM dataset_annotations "
        "GROUP BY base_uri, key, value"
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("annotation_counts")
    op.drop_table("annotation_key_counts")
