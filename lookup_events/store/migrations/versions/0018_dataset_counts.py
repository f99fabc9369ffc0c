"""Dataset counts per base URI: an unfiltered list's total without counting every row.

The registrar keeps ``dataset_counts`` in the transaction of every write
(``sql.counts``); existing datasets are counted here.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the table and count the datasets already there."""
    base_uri = sa.String(length=1024).with_variant(
        sa.String(length=1024, collation="C"), "postgresql"
    )
    op.create_table(
        "dataset_counts",
        sa.Column("base_uri", base_uri, nullable=False),
        sa.Column("datasets", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("base_uri", name=op.f("pk_dataset_counts")),
    )
    op.execute(
        "INSERT INTO dataset_counts (base_uri, datasets) "
        "SELECT base_uri, count(*) FROM datasets GROUP BY base_uri"
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("dataset_counts")
