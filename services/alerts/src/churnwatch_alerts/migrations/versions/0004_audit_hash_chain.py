"""Audit log: hash chain columns, the chain head, and the chain back-filled over existing rows.

Revision ID: 0004_audit_hash_chain
Revises: 0003_notification_leases
Create Date: 2025-01-04 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from churnwatch_alerts.audit import chain

revision = "0004_audit_hash_chain"
down_revision = "0003_notification_leases"
branch_labels = None
depends_on = None

BATCH = 2000
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _backfill(connection: sa.Connection) -> tuple[int, str]:
    """Chain the existing rows in id order (their commit order is not known; id is the best)."""
    log = sa.table(
        "audit_log",
        sa.column("id", sa.BigInteger),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("customer_id", sa.String),
        sa.column("alert_id", sa.String),
        sa.column("detail", JSON),
        sa.column("chain_seq", sa.BigInteger),
        sa.column("detail_sha256", sa.String),
        sa.column("prev_hash", sa.String),
        sa.column("row_hash", sa.String),
    )
    seq, prev, after_id = 0, chain.GENESIS, 0
    while True:
        rows = connection.execute(
            sa.select(log).where(log.c.id > after_id).order_by(log.c.id).limit(BATCH)
        ).all()
        if not rows:
            return seq, prev
        updates = []
        for row in rows:
            seq += 1
            digest = chain.detail_digest(row.detail)
            row_hash = chain.row_hash(
                seq=seq,
                at=row.at,
                actor=row.actor,
                action=row.action,
                customer_id=row.customer_id,
                alert_id=row.alert_id,
                detail_sha256=digest,
                prev_hash=prev,
            )
            updates.append({"b_id": row.id, "s": seq, "d": digest, "p": prev, "h": row_hash})
            prev = row_hash
        connection.execute(
            log.update()
            .where(log.c.id == sa.bindparam("b_id"))
            .values(
                chain_seq=sa.bindparam("s"),
                detail_sha256=sa.bindparam("d"),
                prev_hash=sa.bindparam("p"),
                row_hash=sa.bindparam("h"),
            ),
            updates,
        )
        after_id = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("detail_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(64), nullable=True))
    op.create_index("ix_audit_log_chain_seq", "audit_log", ["chain_seq"], unique=True)
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    connection = op.get_bind()
    # Appends lock the head row; take it before back-filling so none slips in between.
    connection.execute(sa.insert(head).values(id=1, seq=0, row_hash=chain.GENESIS))
    connection.execute(sa.update(head).where(head.c.id == 1).values(seq=head.c.seq))
    seq, last = _backfill(connection)
    connection.execute(sa.update(head).where(head.c.id == 1).values(seq=seq, row_hash=last))


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    op.drop_index("ix_audit_log_chain_seq", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("detail_sha256")
        batch.drop_column("chain_seq")
