"""Stored alerts with managers' resolutions, for the outcome-export tests (alerts and model)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from churnwatch_alerts.db import create_sessionmaker
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import AlertRecord, AlertStatus


def resolved_alert(
    *, alert_id: str, customer_id: str, outcome: str | None, at: datetime
) -> AlertRecord:
    """One churn-risk alert resolved at ``at`` with ``outcome`` (None: still open)."""
    return AlertRecord(
        id=alert_id,
        customer_id=customer_id,
        kind="churn_risk",
        state="composite",
        rule_id="churn.risk",
        severity="warning",
        priority=60,
        title="Churn risk",
        status=AlertStatus.RESOLVED.value if outcome else AlertStatus.OPEN.value,
        assigned_to="rm.001",
        payload={},
        occurred_at=at,
        detected_at=at,
        received_at=at,
        updated_at=at,
        resolved_at=at if outcome else None,
        resolved_by="rm.001" if outcome else None,
        outcome=outcome,
    )


async def store(engine: AsyncEngine, rows: list[AlertRecord]) -> None:
    """Migrate the database and commit the rows."""
    await upgrade(engine=engine)
    async with create_sessionmaker(engine=engine)() as session, session.begin():
        session.add_all(rows)
