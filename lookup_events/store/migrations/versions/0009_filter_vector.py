"""PostgreSQL: the filter terms get a vector of their own, out of reach of dataset text.

Until now one ``search_vector`` held a dataset's words and its filter terms
(a hash per base URI, creator and tag), so a README written to contain the
terms of another base URI matched that base URI's filter, and a search's
total counted datasets its user may not see. ``filter_vector`` is made
from ``filter_terms`` alone, which the store writes from metadata;
``search_vector`` from the text alone. One GIN index holds both columns, so
a search still intersects words and filters inside the index. Generated
columns are computed for every existing row by the rewrite ``ALTER TABLE``
makes; their storage is set EXTERNAL in the same statement, so the heap
stays narrow (migration 0002). SQLite's FTS5 table keeps the two apart
already (its ``filter_terms`` column): nothing to do there.

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-06 02:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

_TEXT_VECTOR = "to_tsvector('english'::regconfig, left(search_text, 300000))"
_FILTER_VECTOR = "array_to_tsvector(string_to_array(filter_terms, ' '))"

_UPGRADE = (
    "ALTER TABLE dataset_texts DROP COLUMN search_vector, "
    f"ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_TEXT_VECTOR}) STORED, "
    f"ADD COLUMN filter_vector tsvector GENERATED ALWAYS AS ({_FILTER_VECTOR}) STORED, "
    "ALTER COLUMN search_vector SET STORAGE EXTERNAL, "
    "ALTER COLUMN filter_vector SET STORAGE EXTERNAL",
    "CREATE INDEX ix_dataset_texts_vectors ON dataset_texts "
    "USING gin (search_vector, filter_vector)",
)
_DOWNGRADE = (
    "ALTER TABLE dataset_texts DROP COLUMN search_vector, DROP COLUMN filter_vector, "
    f"ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_TEXT_VECTOR} || "
    f"{_FILTER_VECTOR}) STORED, "
    "ALTER COLUMN search_vector SET STORAGE EXTERNAL",
    "CREATE INDEX ix_dataset_texts_search_vector ON dataset_texts USING gin (search_vector)",
)


def upgrade() -> None:
    """Split the filter terms from the words on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in _UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    """Put the filter terms back into the one vector."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in _DOWNGRADE:
            op.execute(statement)
