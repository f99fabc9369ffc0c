"""Keep an audit trail: one row per change to a dataset, user, base URI or permission.

The stores write ``audit_entries`` in the transaction of each change
(``store.audit``); nothing exists to copy from before this revision.

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-06 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "audit_entries"


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    """Create the table and its indexes by subject, actor and time."""
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("subject_kind", _string(16), nullable=False),
        sa.Column("subject", _string(2048), nullable=False),
        sa.Column("action", _string(32), nullable=False),
        sa.Column("base_uri", _string(1024), nullable=True),
        sa.Column("uuid", _string(36), nullable=True),
        sa.Column("actor_kind", _string(16), nullable=False),
        sa.Column("actor", _string(255), nullable=False),
        sa.Column("cause", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_subject", _TABLE, ["subject", "id"])
    op.create_index("ix_audit_entries_actor", _TABLE, ["actor_kind", "actor", "id"])
    op.create_index("ix_audit_entries_at", _TABLE, ["at"])


def downgrade() -> None:
    """Drop the audit trail."""
    op.drop_table(_TABLE)
