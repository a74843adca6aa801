"""Notifications: per-claim lease id, dead-letter time and redrive time.

Revision ID: 0003_notification_leases
Revises: 0002
Create Date: 2025-01-03 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_notification_leases"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("lease_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("redriven_at", sa.DateTime(timezone=True), nullable=True))
    # Dead letters are listed newest first; a partial index keeps that cheap on PostgreSQL.
    op.create_index(
        "ix_notifications_dead_at",
        "notifications",
        ["dead_at"],
        postgresql_where=sa.text("status = 'dead'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_dead_at", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("redriven_at")
        batch.drop_column("dead_at")
        batch.drop_column("lease_id")
