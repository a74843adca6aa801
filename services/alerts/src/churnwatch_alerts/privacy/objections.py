"""Objections to profiling for marketing: recorded, withdrawn (both audited), and honoured.

``DatabaseObjections`` is the playbook's ``MarketingObjections`` over ``privacy_objections``: a
customer who objected gets no marketing suggestion, and no suggestion chosen by their value
profile (strategy, lifecycle) either; risk alerts and retention actions on risk stay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.audit import record
from churnwatch_alerts.models import MarketingObjection


async def record_objection(
    session: AsyncSession, *, customer_id: str, actor: str, channel: str | None, now: datetime
) -> bool:
    """Record the objection; False when it was already recorded (nothing changes then)."""
    if await session.get(MarketingObjection, customer_id) is not None:
        return False
    session.add(
        MarketingObjection(
            customer_id=customer_id, recorded_by=actor, recorded_at=now, channel=channel
        )
    )
    record(
        session,
        actor=actor,
        action="privacy.objection_recorded",
        customer_id=customer_id,
        at=now,
        detail={"channel": channel},
    )
    return True


async def withdraw(session: AsyncSession, *, customer_id: str, actor: str, now: datetime) -> bool:
    """Withdraw the objection; False when there was none."""
    result = await session.execute(
        delete(MarketingObjection).where(MarketingObjection.customer_id == customer_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    record(
        session, actor=actor, action="privacy.objection_withdrawn", customer_id=customer_id, at=now
    )
    return True


async def describe(session: AsyncSession, *, customer_id: str) -> dict[str, Any]:
    """The customer's objection state as JSON."""
    row = await session.get(MarketingObjection, customer_id, populate_existing=True)
    return {
        "customer_id": customer_id,
        "objects_to_marketing": row is not None,
        "recorded_at": row.recorded_at.isoformat() if row else None,
        "recorded_by": row.recorded_by if row else None,
        "channel": row.channel if row else None,
    }


class DatabaseObjections:
    """The recorded objections (``playbook.marketing.MarketingObjections``)."""

    async def objects(self, session: AsyncSession, *, customer_id: str) -> bool:
        """Whether the customer objected to marketing."""
        found = await session.scalar(
            select(MarketingObjection.customer_id).where(
                MarketingObjection.customer_id == customer_id
            )
        )
        return found is not None
