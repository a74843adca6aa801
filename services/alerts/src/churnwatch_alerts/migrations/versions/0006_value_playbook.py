"""Value reviews (archived, immutable) and next-best-action suggestion outcomes (issue 17).

Revision ID: 0006_value_playbook
Revises: 0005_cases
Create Date: 2026-12-05 00:00:01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from churnwatch_alerts.models.base import JSONType, UTCDateTime

revision = "0006_value_playbook"
down_revision = "0005_cases"
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(20, 2)
# Archived rows are evidence for the accuracy report: the database refuses to change them.
IMMUTABLE = ("value_reviews", "suggestion_outcomes")

_PG_FUNCTION = """
CREATE FUNCTION churnwatch_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% rows are archived and immutable', TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "value_reviews",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        sa.Column("reviewed_at", UTCDateTime, nullable=False),
        sa.Column("config_version", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("current_value", MONEY, nullable=False),
        sa.Column("cost_to_serve", MONEY, nullable=False),
        sa.Column("income", JSONType, nullable=False),
        sa.Column("expected_value", MONEY, nullable=True),
        sa.Column("trend", MONEY, nullable=True),
        sa.Column("potential_value", MONEY, nullable=False),
        sa.Column("churn_likelihood", sa.Numeric(5, 4), nullable=False),
        sa.Column("value_at_risk", MONEY, nullable=False),
        sa.Column("lifecycle", sa.String(16), nullable=False),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("reasons", JSONType, nullable=False),
        sa.Column("inputs", JSONType, nullable=False),
        sa.UniqueConstraint("customer_id", "period", name="uq_value_reviews_customer_period"),
    )
    op.create_index("ix_value_reviews_period_at_risk", "value_reviews", ["period", "value_at_risk"])
    op.create_table(
        "suggestion_outcomes",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("action_code", sa.String(64), nullable=False),
        sa.Column("playbook_version", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "ix_suggestion_outcomes_customer", "suggestion_outcomes", ["customer_id", "action_code"]
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in IMMUTABLE:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION churnwatch_refuse_change()"
            )
    else:
        for table in IMMUTABLE:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are archived and immutable'); END"
                )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        op.execute("DROP FUNCTION IF EXISTS churnwatch_refuse_change()")
    op.drop_index("ix_suggestion_outcomes_customer", table_name="suggestion_outcomes")
    op.drop_table("suggestion_outcomes")
    op.drop_index("ix_value_reviews_period_at_risk", table_name="value_reviews")
    op.drop_table("value_reviews")
