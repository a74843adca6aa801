"""Managers choose whether low-severity alerts come one by one or in a periodic digest.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("managers") as batch:
        batch.add_column(
            sa.Column("low_severity_digest", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("managers") as batch:
        batch.drop_column("low_severity_digest")
