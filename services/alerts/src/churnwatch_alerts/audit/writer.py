"""Writing the audit log: every read of customer data and every change, with who, what and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.audit import append
from churnwatch_alerts.models import AuditEntry

SYSTEM_INTAKE = "system:intake"
SYSTEM_ESCALATION = "system:escalation"

log = structlog.get_logger(__name__)


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    at: datetime,
    customer_id: str | None = None,
    alert_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one audit row to the caller's transaction (it commits or rolls back with the change)."""
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        customer_id=customer_id,
        alert_id=alert_id,
        detail=detail or {},
    )
    session.add(entry)
    # Chained by hash to the previous row when this transaction commits (audit/append.py).
    append.note(session.sync_session, entry)


async def record_now(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    actor: str,
    action: str,
    at: datetime,
    customer_id: str | None = None,
    alert_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Write one audit row in its own transaction, committed at once; False when that failed.

    For refusals (denied reads, failed logins): the request's own transaction is rolled back with
    the error response, and the row must outlive that rollback.
    """
    try:
        async with sessionmaker() as session, session.begin():
            record(
                session,
                actor=actor,
                action=action,
                at=at,
                customer_id=customer_id,
                alert_id=alert_id,
                detail=detail,
            )
    except Exception:
        # The refusal still stands; a lost audit row must at least be loud in the logs.
        log.exception("audit.write_failed", actor=actor, action=action, customer_id=customer_id)
        return False
    return True
