"""Cases (issue 17): churn-risk alert versions, case notes and contacts, daily score history.

Also the customer's display name and start of relationship (from customer.profile) on
assignments, and the current monitor id and version number of each alert.

Revision ID: 0005_cases
Revises: 0004_audit_hash_chain
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from churnwatch_alerts.models.base import JSONType, UTCDateTime

revision = "0005_cases"
down_revision = "0004_audit_hash_chain"
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("monitor_alert_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.create_index("ix_alerts_monitor_alert_id", ["monitor_alert_id"])
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("display_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("customer_since", sa.Date(), nullable=True))
    op.create_table(
        "alert_versions",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("monitor_alert_id", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("churn_score", sa.Float(), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.Column("superseded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_versions"),
        sa.UniqueConstraint("monitor_alert_id", name="uq_alert_versions_monitor_alert_id"),
    )
    op.create_index("ix_alert_versions_alert_id", "alert_versions", ["alert_id"])
    op.create_table(
        "case_entries",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("contact_kind", sa.String(16), nullable=True),
        sa.Column("initiated_by", sa.String(16), nullable=True),
        sa.Column("event_id", sa.String(128), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_entries"),
        sa.UniqueConstraint("event_id", name="uq_case_entries_event_id"),
    )
    op.create_index("ix_case_entries_customer_id", "case_entries", ["customer_id"])
    op.create_table(
        "score_history",
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("churn_score", sa.Float(), nullable=False),
        sa.Column("churn_level", sa.String(16), nullable=False),
        sa.Column("churn_probability", sa.Float(), nullable=True),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", "day", name="pk_score_history"),
    )


def downgrade() -> None:
    op.drop_table("score_history")
    op.drop_index("ix_case_entries_customer_id", table_name="case_entries")
    op.drop_table("case_entries")
    op.drop_index("ix_alert_versions_alert_id", table_name="alert_versions")
    op.drop_table("alert_versions")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("customer_since")
        batch.drop_column("display_name")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_monitor_alert_id")
        batch.drop_column("version")
        batch.drop_column("monitor_alert_id")
