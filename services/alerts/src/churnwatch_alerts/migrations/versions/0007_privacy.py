"""Privacy (issue 19): proofs of erasure, marketing objections, and a controlled way to delete
archived rows (value reviews, suggestion outcomes) for an erasure or a retention run.

The archive triggers keep refusing every UPDATE, and every DELETE unless the deleting transaction
opened the privacy gate (``privacy/gate.py``): on PostgreSQL the transaction-local setting
``churnwatch.privacy_delete``, on SQLite a row of ``privacy_delete_gate`` that the same
transaction inserts and removes again before it commits.

Revision ID: 0007_privacy
Revises: 0006_value_playbook
Create Date: 2026-12-05 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from churnwatch_alerts.models.base import JSONType, UTCDateTime

revision = "0007_privacy"
down_revision = "0006_value_playbook"
branch_labels = None
depends_on = None

IMMUTABLE = ("value_reviews", "suggestion_outcomes")

_PG_GATED = """
CREATE OR REPLACE FUNCTION churnwatch_refuse_change() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' AND coalesce(current_setting('churnwatch.privacy_delete', true), '') <> ''
  THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% rows are archived and immutable', TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql
"""

_PG_UNGATED = """
CREATE OR REPLACE FUNCTION churnwatch_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% rows are archived and immutable', TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql
"""


def _sqlite_delete_trigger(table: str, *, gated: bool) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    when = " WHEN NOT EXISTS (SELECT 1 FROM privacy_delete_gate)" if gated else ""
    op.execute(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}{when} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are archived and immutable'); END"
    )


def upgrade() -> None:
    op.create_table(
        "privacy_erasures",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("removed", JSONType, nullable=False),
        sa.Column("event_partition", sa.Integer, nullable=True),
        sa.Column("event_offset", sa.BigInteger, nullable=True),
        sa.Column("event_sent_at", UTCDateTime, nullable=True),
        sa.Column("monitor_confirmed_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_privacy_erasures_customer_id", "privacy_erasures", ["customer_id"])
    op.create_table(
        "privacy_objections",
        sa.Column("customer_id", sa.String(128), primary_key=True),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
    )
    op.create_table(
        "privacy_delete_gate",
        sa.Column("reason", sa.String(128), primary_key=True),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(_PG_GATED)
    else:
        for table in IMMUTABLE:
            _sqlite_delete_trigger(table, gated=True)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(_PG_UNGATED)
    else:
        for table in IMMUTABLE:
            _sqlite_delete_trigger(table, gated=False)
    op.drop_table("privacy_delete_gate")
    op.drop_table("privacy_objections")
    op.drop_index("ix_privacy_erasures_customer_id", table_name="privacy_erasures")
    op.drop_table("privacy_erasures")
