"""Summary counts: datasets and bytes per base URI and creator or tag, kept by every write.

The registrar keeps ``summary_counts`` in the transaction of every write
(``sql.counts``), so a summary reads a few hundred rows instead of grouping
every dataset; the datasets already there are counted here.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    """Create the table and count the datasets already there."""
    op.create_table(
        "summary_counts",
        sa.Column("base_uri", _string(1024), nullable=False),
        sa.Column("facet", _string(16), nullable=False),
        sa.Column("value", _string(255), nullable=False),
        sa.Column("datasets", sa.BigInteger(), nullable=False),
        sa.Column("size_in_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("base_uri", "facet", "value", name=op.f("pk_summary_counts")),
    )
    op.execute(
        "INSERT INTO summary_counts (base_uri, facet, value, datasets, size_in_bytes) "
        "SELECT base_uri, 'creator', creator_username, count(*), coalesce(sum(size_in_bytes), 0) "
        "FROM datasets GROUP BY base_uri, creator_username"
    )
    op.execute(
        "INSERT INTO summary_counts (base_uri, facet, value, datasets, size_in_bytes) "
        "SELECT base_uri, 'tag', tag, count(*), coalesce(sum(size_in_bytes), 0) "
        "FROM dataset_tags GROUP BY base_uri, tag"
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("summary_counts")
