"""Label each dependency link with its component, so a graph reads its links at once.

A graph was one recursive query stepping from dataset to dataset (two index
probes a step). Each ``dataset_dependencies`` row now carries ``component``,
a UUID shared by every row of links that connect each other (kept by the
registrar, ``sql.dependencies``), and a covering index on it, so a graph
reads its candidate links in one range and walks them in memory
(``sql.graph``). Existing rows are labelled here.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lookup_events.store.dependencies import components

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "dataset_dependencies"
_INDEX = "ix_dataset_dependencies_component"
_COLUMNS = ["component", "parent", "key", "base_uri", "uuid", "neighbour"]


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    """Add the column, label every row, then require it and index it."""
    op.add_column(_TABLE, sa.Column("component", _string(36), nullable=True))
    _label_rows()
    with op.batch_alter_table(_TABLE) as batch:
        batch.alter_column("component", existing_type=_string(36), nullable=False)
    op.create_index(_INDEX, _TABLE, _COLUMNS)


def _label_rows() -> None:
    """Give every row the smallest UUID of the links connected to it."""
    table = sa.table(
        _TABLE,
        sa.column("uuid"),
        sa.column("neighbour"),
        sa.column("parent", sa.Boolean()),
        sa.column("component"),
    )
    conn = op.get_bind()
    links = conn.execute(
        sa.select(table.c.uuid, table.c.neighbour).where(table.c.parent.is_(True))
    ).all()
    labels = [
        {"node": uuid, "label": min(group)}
        for group in components((str(child), str(parent)) for child, parent in links)
        for uuid in group
    ]
    if labels:
        statement = (
            sa.update(table)
            .where(table.c.uuid == sa.bindparam("node"))
            .values(component=sa.bindparam("label"))
        )
        conn.execute(statement, labels)


def downgrade() -> None:
    """Drop the index and the column (the walk by recursive query needs neither)."""
    op.drop_index(_INDEX, table_name=_TABLE)
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_column("component")
