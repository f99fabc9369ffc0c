"""Keep each dataset's queryable document as rows of values, for structured queries.

``POST /mongo/query`` filters over the README's YAML, the annotations and
the tags: ``dataset_fields`` holds one row per value at each path
(``store.structured.field_rows``), written with the dataset row. Existing
datasets are parsed and copied in here, in batches, so an upgraded store
answers structured queries at once.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lookup_events.store.sql.structured import field_values
from lookup_events.store.structured import SHORT, queryable_parts

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "dataset_fields"
_BATCH = 500


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def _text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    """Create the table and its indexes; fill it from the datasets."""
    table = op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("path", _string(512), nullable=False),
        sa.Column("element", _text(), nullable=False),
        sa.Column("item", sa.Boolean(), nullable=False),
        sa.Column("kind", _string(8), nullable=False),
        sa.Column("number", sa.Double(), nullable=True),
        sa.Column("short", _string(SHORT), nullable=True),
        sa.Column("text", _text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_fields_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_fields")),
    )
    _copy_fields(table)
    op.create_index("ix_dataset_fields_dataset_id", _TABLE, ["dataset_id"])
    op.create_index("ix_dataset_fields_short", _TABLE, ["path", "kind", "short", "dataset_id"])
    op.create_index("ix_dataset_fields_number", _TABLE, ["path", "kind", "number", "dataset_id"])


def _copy_fields(table: sa.Table) -> None:
    """Insert the field rows of every dataset registered before this revision."""
    datasets = sa.table(
        "datasets",
        sa.column("id", sa.Integer()),
        sa.column("readme", sa.Text()),
        sa.column("annotations", sa.JSON()),
        sa.column("tags", sa.JSON()),
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(datasets.c.id, datasets.c.readme, datasets.c.annotations, datasets.c.tags)
            .where(datasets.c.id > last)
            .order_by(datasets.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        values = [
            value
            for row in rows
            for value in field_values(
                row.id, queryable_parts(row.readme or "", row.annotations or {}, row.tags or [])
            )
        ]
        if values:
            conn.execute(sa.insert(table), values)
        last = rows[-1].id


def downgrade() -> None:
    """Drop the table (the README stays in ``datasets.readme``)."""
    op.drop_index("ix_dataset_fields_number", table_name=_TABLE)
    op.drop_index("ix_dataset_fields_short", table_name=_TABLE)
    op.drop_index("ix_dataset_fields_dataset_id", table_name=_TABLE)
    op.drop_table(_TABLE)
