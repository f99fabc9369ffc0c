"""Dataset stamps: what storage listed when the registrar read each dataset.

A rescan after a restart compares each dataset's stamp in the storage
listing with the one kept here, and reads only the datasets whose stamps
differ. Records registered before this migration have none, so the first
rescan reads them once more and stamps them.

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the nullable ``datasets.stamp`` column."""
    stamp = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")
    op.add_column("datasets", sa.Column("stamp", stamp, nullable=True))


def downgrade() -> None:
    """Drop ``datasets.stamp``."""
    op.drop_column("datasets", "stamp")
