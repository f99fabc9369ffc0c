"""Keep each dataset's dependency links in a table of their own, for graphs.

The dependency-graph routes walk ``dataset_dependencies``: two rows per link
a dataset's README or annotations hold to a parent's UUID
(``store.dependencies``), written with the dataset row. Existing datasets'
links are computed here, in batches, so an upgraded store answers graphs at
once (``dtool-lookup graph rebuild`` recomputes them at any time).

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-06 02:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from lookup_events.store.dependencies import dependency_links

revision: str = "0010"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "dataset_dependencies"
_INDEX = "ix_dataset_dependencies_walk"
_BATCH = 1000


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    """Create the table and its walk index; fill it from the datasets."""
    table = op.create_table(
        _TABLE,
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("key", _string(255), nullable=False),
        sa.Column("uuid", _string(36), nullable=False),
        sa.Column("neighbour", _string(36), nullable=False),
        sa.Column("parent", sa.Boolean(), nullable=False),
        sa.Column("base_uri", _string(1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_dependencies_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "dataset_id", "key", "uuid", "neighbour", name=op.f("pk_dataset_dependencies")
        ),
    )
    _copy_links(table)
    op.create_index(_INDEX, _TABLE, ["uuid", "neighbour", "parent", "key", "base_uri"])


def _copy_links(table: sa.Table) -> None:
    """Insert the link rows of every dataset registered before this revision."""
    datasets = sa.table(
        "datasets",
        sa.column("id", sa.Integer()),
        sa.column("uuid"),
        sa.column("base_uri"),
        sa.column("readme"),
        sa.column("annotations", sa.JSON()),
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(datasets).where(datasets.c.id > last).order_by(datasets.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        values = [value for row in rows for value in _rows_of(row)]
        if values:
            conn.execute(sa.insert(table), values)
        last = rows[-1].id


def _rows_of(row: Any) -> list[dict[str, Any]]:
    """Return both directions of each link of one dataset row."""
    found = []
    for key, parent in dependency_links(row.uuid, row.readme or "", row.annotations or {}):
        common = {"dataset_id": row.id, "key": key, "base_uri": row.base_uri}
        found.append({**common, "uuid": row.uuid, "neighbour": parent, "parent": True})
        found.append({**common, "uuid": parent, "neighbour": row.uuid, "parent": False})
    return found


def downgrade() -> None:
    """Drop the table (the links stay in the READMEs and annotations)."""
    op.drop_index(_INDEX, table_name=_TABLE)
    op.drop_table(_TABLE)
