"""Writing the audit log: every read of customer data and every change, with who, what and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import AuditEntry

SYSTEM_INTAKE = "system:intake"
SYSTEM_ESCALATION = "system:escalation"


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
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            action=action,
            customer_id=customer_id,
            alert_id=alert_id,
            detail=detail or {},
        )
    )
