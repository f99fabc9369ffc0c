"""Keep each dataset's scalar annotations in a table of their own, for facets.

The annotation-filter routes and the ``annotations`` search filter count
and match annotation keys and values in the database: ``dataset_annotations``
holds one row per dataset and scalar annotation (``store.annotations``),
written with the dataset row. Existing datasets are copied in here, in
batches, so an upgraded store answers facets at once.

Revision ID: 0008
Revises: 0003
Create Date: 2026-12-05 19:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from lookup_events.store.annotations import annotation_pairs

revision: str = "0008"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "dataset_annotations"
_BATCH = 1000


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    """Create the table and its two indexes; fill it from the datasets."""
    table = op.create_table(
        _TABLE,
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("key", _string(255), nullable=False),
        sa.Column("value", _string(256), nullable=False),
        sa.Column("base_uri", _string(1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_annotations_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "key", name=op.f("pk_dataset_annotations")),
    )
    _copy_annotations(table)
    op.create_index("ix_dataset_annotations_pairs", _TABLE, ["key", "value", "dataset_id"])
    op.create_index(
        "ix_dataset_annotations_facets", _TABLE, ["base_uri", "key", "value", "dataset_id"]
    )


def _copy_annotations(table: sa.Table) -> None:
    """Insert the facet rows of every dataset registered before this revision."""
    datasets = sa.table(
        "datasets",
        sa.column("id", sa.Integer()),
        sa.column("base_uri"),
        sa.column("annotations", sa.JSON()),
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(datasets.c.id, datasets.c.base_uri, datasets.c.annotations)
            .where(datasets.c.id > last)
            .order_by(datasets.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        values: list[dict[str, Any]] = [
            {"dataset_id": row.id, "key": key, "value": value, "base_uri": row.base_uri}
            for row in rows
            for key, value in annotation_pairs(row.annotations or {})
        ]
        if values:
            conn.execute(sa.insert(table), values)
        last = rows[-1].id


def downgrade() -> None:
    """Drop the table (the annotations stay in ``datasets.annotations``)."""
    op.drop_index("ix_dataset_annotations_facets", table_name=_TABLE)
    op.drop_index("ix_dataset_annotations_pairs", table_name=_TABLE)
    op.drop_table(_TABLE)
