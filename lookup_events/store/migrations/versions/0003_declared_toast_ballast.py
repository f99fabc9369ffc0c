"""Declare the ballast that keeps PostgreSQL's free-text heap narrow.

Migration 0002 moved the text, filter terms and vector of ``dataset_texts``
out of line, through a column no model declared: PostgreSQL toasts only
rows over about 2 kB, whatever ``toast_tuple_target`` says, so every row
carried 2,100 dashes to get there. The mechanism stays, as the models now
say it: ``toast_ballast`` becomes a generated column of a constant, which
the store can neither forget nor write, and which exists on SQLite too, as
a virtual column that takes no space. A table of its own for the vector
would not narrow the heap: the vector is the widest value of a row.

On PostgreSQL the new column rewrites the table once; the rewrite toasts
every row as an insert does, so the heap stays as narrow as CLUSTER left it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "dataset_texts"
_BALLAST = "toast_ballast"
_DASHES = 2100


def _ballast(stored: bool) -> sa.Column[str]:
    # NOTE(dev): SQLite adds only virtual generated columns, and a stored one
    # would take 2 kB a row there: the ballast matters on PostgreSQL alone.
    dashes = sa.text(f"'{'-' * _DASHES}'")
    return sa.Column(
        _BALLAST, sa.Text(), sa.Computed(dashes, persisted=stored or None), nullable=False
    )


def upgrade() -> None:
    """Replace 0002's undeclared ballast by a generated column, on both dialects."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.drop_column(_TABLE, _BALLAST)
    op.add_column(_TABLE, _ballast(stored=postgres))


def downgrade() -> None:
    """Go back to 0002's plain ballast column (none on SQLite)."""
    op.drop_column(_TABLE, _BALLAST)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE {_TABLE} ADD COLUMN {_BALLAST} text NOT NULL "
            f"DEFAULT repeat('-', {_DASHES})"
        )
        op.execute(f"CLUSTER {_TABLE} USING pk_{_TABLE}")
