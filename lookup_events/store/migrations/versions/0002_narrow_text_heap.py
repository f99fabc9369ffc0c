"""PostgreSQL: keep the free-text table's heap narrow; its texts and vectors live in TOAST.

A free-text search reads the matching rows of ``dataset_texts`` through a
bitmap heap scan: a common word visits a good share of the table's heap
pages, and the heap did not stay in a default server's shared buffers. The
scan needs no column but the id, so the wide values can live out of line,
which made the heap a tenth as big and first-time searches about twice as
fast, without the slow tail (``docs/measurements.md``).

PostgreSQL moves values to TOAST only from rows over about 2 kB, whatever
``toast_tuple_target`` says, and most rows are smaller. A ballast column,
2,100 characters by default that compress to 35 bytes, puts every row over
that size, so the toaster runs and, aiming at ``toast_tuple_target = 128``,
moves the text, filter terms and vector (stored EXTERNAL) out of line.
CLUSTER rewrites the rows already stored, the same way.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 06:05:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

BALLAST_COLUMN = "toast_ballast"
_COLUMNS = ("search_text", "filter_terms", "search_vector")

_UPGRADE = (
    "ALTER TABLE dataset_texts SET (toast_tuple_target = 128)",
    "ALTER TABLE dataset_texts "
    + ", ".join(f"ALTER COLUMN {column} SET STORAGE EXTERNAL" for column in _COLUMNS),
    f"ALTER TABLE dataset_texts ADD COLUMN {BALLAST_COLUMN} text NOT NULL "
    "DEFAULT repeat('-', 2100)",
    "CLUSTER dataset_texts USING pk_dataset_texts",
)
_DOWNGRADE = (
    f"ALTER TABLE dataset_texts DROP COLUMN {BALLAST_COLUMN}",
    "ALTER TABLE dataset_texts "
    + ", ".join(f"ALTER COLUMN {column} SET STORAGE EXTENDED" for column in _COLUMNS),
    "ALTER TABLE dataset_texts RESET (toast_tuple_target)",
)


def upgrade() -> None:
    """Move the free-text values of PostgreSQL out of the heap (nothing to do on SQLite)."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in _UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    """Keep the values in the heap again."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in _DOWNGRADE:
            op.execute(statement)
