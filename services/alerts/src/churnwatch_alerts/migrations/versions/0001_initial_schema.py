"""Initial schema: alerts, assignments, managers, audit log, customer state, notification outbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alerts",
        _text("id", 64, nullable=False),
        _text("customer_id", 128, nullable=False),
        _text("kind", 32, nullable=False),
        _text("state", 32, nullable=False),
        _text("rule_id", 64, nullable=False),
        _text("severity", 16, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        _text("title", 200, nullable=False),
        _text("status", 16, nullable=False),
        _text("assigned_to", 140, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        _time("occurred_at"),
        _time("detected_at"),
        _time("received_at"),
        _time("updated_at"),
        _time("acknowledged_at", nullable=True),
        _text("acknowledged_by", 128),
        _time("snoozed_until", nullable=True),
        _time("resolved_at", nullable=True),
        _text("resolved_by", 128),
        _text("outcome", 32),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        _time("escalate_at", nullable=True),
        _text("escalated_to", 128),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_assigned_status", "alerts", ["assigned_to", "status"])
    op.create_index(op.f("ix_alerts_customer_id"), "alerts", ["customer_id"])
    op.create_index("ix_alerts_escalate_at", "alerts", ["escalate_at"])
    op.create_index(op.f("ix_alerts_rule_id"), "alerts", ["rule_id"])

    op.create_table(
        "assignments",
        _text("customer_id", 128, nullable=False),
        _text("relationship_manager_id", 128),
        _text("wealth_advisor_id", 128),
        _text("service_team_id", 128),
        _text("branch_id", 128),
        _text("tier", 32),
        _text("segment", 32),
        _time("assigned_at", nullable=True),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_assignments")),
    )
    for column in ("branch_id", "relationship_manager_id", "wealth_advisor_id"):
        op.create_index(op.f(f"ix_assignments_{column}"), "assignments", [column])

    op.create_table(
        "audit_log",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        _time("at"),
        _text("actor", 128, nullable=False),
        _text("action", 64, nullable=False),
        _text("customer_id", 128),
        _text("alert_id", 64),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    for column in ("actor", "alert_id", "at", "customer_id"):
        op.create_index(op.f(f"ix_audit_log_{column}"), "audit_log", [column])

    op.create_table(
        "customer_state",
        _text("customer_id", 128, nullable=False),
        _time("as_of"),
        sa.Column("snapshot", JSON, nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_state")),
    )

    op.create_table(
        "managers",
        _text("id", 128, nullable=False),
        _text("role", 32, nullable=False),
        _text("team_id", 128),
        _text("branch_id", 128),
        _text("supervisor_id", 128),
        _text("password_hash", 256),
        sa.Column("active", sa.Boolean(), nullable=False),
        _text("email", 320),
        _text("webhook_url", 2000),
        sa.Column("channels", JSON, nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_managers")),
    )
    op.create_index(op.f("ix_managers_branch_id"), "managers", ["branch_id"])
    op.create_index(op.f("ix_managers_team_id"), "managers", ["team_id"])

    op.create_table(
        "notifications",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        _text("dedupe_key", 300, nullable=False),
        _text("alert_id", 64),
        _text("recipient", 140, nullable=False),
        _text("channel", 32, nullable=False),
        _text("event", 32, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        _text("status", 16, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _time("created_at"),
        _time("delivered_at", nullable=True),
        _time("read_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
    )
    op.create_index(op.f("ix_notifications_alert_id"), "notifications", ["alert_id"])
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])

    op.create_table(
        "delivery_log",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        _time("at"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_log")),
    )
    op.create_index(op.f("ix_delivery_log_notification_id"), "delivery_log", ["notification_id"])


def downgrade() -> None:
    for table in (
        "delivery_log",
        "notifications",
        "managers",
        "customer_state",
        "audit_log",
        "assignments",
        "alerts",
    ):
        op.drop_table(table)
