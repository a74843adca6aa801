"""The compact churn-score history per customer: one point a day, for the 90-day trend line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import ScorePoint
from churnwatch_alerts.upsert import insert_for
from churnwatch_shared.customer_state import CustomerStateSnapshot


async def upsert_score_points(
    session: AsyncSession, *, snapshots: Sequence[CustomerStateSnapshot]
) -> None:
    """Record each snapshot as its customer's point of the day; an older snapshot changes nothing."""
    values = [
        {
            "customer_id": s.customer_id,
            "day": s.as_of.date(),
            "as_of": s.as_of,
            "churn_score": s.churn_score,
            "churn_level": s.churn_level.value,
            "churn_probability": s.churn_probability,
            "model_version": s.model_version,
        }
        for s in sorted(snapshots, key=lambda s: (s.customer_id, s.as_of))
    ]
    if not values:
        return
    table = ScorePoint.__table__
    stmt = insert_for(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["customer_id", "day"],
        set_={
            name: getattr(stmt.excluded, name)
            for name in (
                "as_of",
                "churn_score",
                "churn_level",
                "churn_probability",
                "model_version",
            )
        },
        where=table.c.as_of <= stmt.excluded.as_of,
    )
    await session.execute(stmt, values)


async def score_points(session: AsyncSession, *, customer_id: str, since: date) -> list[ScorePoint]:
    """The customer's daily points from ``since`` on, oldest first."""
    stmt = (
        select(ScorePoint)
        .where(ScorePoint.customer_id == customer_id, ScorePoint.day >= since)
        .order_by(ScorePoint.day)
    )
    return list((await session.scalars(stmt)).all())
