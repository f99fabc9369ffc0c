"""Subscriptions: saved searches, their notifications, and the outbox feeding them.

``dataset_changes`` is the outbox: a row per write of a dataset record, in
the write's own transaction (when subscriptions are on). ``subscriptions``
holds each user's saved search and target, ``subscription_matches`` which
datasets matched each one when last notified (so a change can be told as
starting, going on or stopping to match), ``subscription_deliveries`` the
notifications waiting, retried or parked.

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-06 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def _cascade(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["subscription_id"],
        ["subscriptions.id"],
        name=op.f(f"fk_{table}_subscription_id_subscriptions"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Create the outbox and the three subscription tables."""
    op.create_table(
        "dataset_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", _string(2048), nullable=False),
        sa.Column("base_uri", _string(1024), nullable=False),
        sa.Column("uuid", _string(36), nullable=False),
        sa.Column("name", _string(1024), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("committed_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_changes")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", _string(255), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("webhook", _string(2048), nullable=True),
        sa.Column("queue", _string(255), nullable=True),
        sa.Column("secret", _string(128), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index("ix_subscriptions_user_id", "subscriptions", ["user_id"])
    op.create_table(
        "subscription_matches",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("uri", _string(2048), nullable=False),
        _cascade("subscription_matches"),
        sa.PrimaryKeyConstraint("subscription_id", "uri", name=op.f("pk_subscription_matches")),
    )
    op.create_table(
        "subscription_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("uri", _string(2048), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.Double(), nullable=False),
        sa.Column("parked", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _cascade("subscription_deliveries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_deliveries")),
    )
    op.create_index(
        "ix_subscription_deliveries_subscription_id",
        "subscription_deliveries",
        ["subscription_id"],
    )
    op.create_index(
        "ix_subscription_deliveries_parked_id", "subscription_deliveries", ["parked", "id"]
    )


def downgrade() -> None:
    """Drop the four tables."""
    op.drop_table("subscription_deliveries")
    op.drop_table("subscription_matches")
    op.drop_table("subscriptions")
    op.drop_table("dataset_changes")
