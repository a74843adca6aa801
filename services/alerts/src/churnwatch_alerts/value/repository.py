"""Every query on value_reviews."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from churnwatch_alerts.models import Assignment, CustomerStateRecord, Manager, ValueReview
from churnwatch_alerts.upsert import insert_for


async def unreviewed_states(
    session: AsyncSession, *, period: str, limit: int
) -> list[CustomerStateRecord]:
    """Stored snapshots of customers with no review for ``period`` yet, by customer id."""
    reviewed = select(ValueReview.customer_id).where(
        ValueReview.period == period, ValueReview.customer_id == CustomerStateRecord.customer_id
    )
    stmt = (
        select(CustomerStateRecord)
        .where(~reviewed.exists())
        .order_by(CustomerStateRecord.customer_id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def reviews_for(
    session: AsyncSession, *, customer_ids: Sequence[str], period: str
) -> dict[str, ValueReview]:
    """The reviews of ``period`` of these customers, by customer id."""
    if not customer_ids:
        return {}
    stmt = select(ValueReview).where(
        ValueReview.period == period, ValueReview.customer_id.in_(customer_ids)
    )
    return {r.customer_id: r for r in await session.scalars(stmt)}


async def insert_reviews(session: AsyncSession, *, rows: list[dict[str, Any]]) -> int:
    """Insert reviews; a customer's period already reviewed (another replica) is left as it is."""
    if not rows:
        return 0
    stmt = (
        insert_for(session, ValueReview)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["customer_id", "period"])
        .returning(ValueReview.id)
    )
    return len((await session.execute(stmt)).all())


async def of_customer(session: AsyncSession, *, customer_id: str, limit: int) -> list[ValueReview]:
    """The customer's reviews, newest period first."""
    stmt = (
        select(ValueReview)
        .where(ValueReview.customer_id == customer_id)
        .order_by(ValueReview.period.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def latest_period(session: AsyncSession, *, scope: ColumnElement[bool]) -> str | None:
    """The newest reviewed period among the visible customers (labels sort by time)."""
    return await session.scalar(select(func.max(ValueReview.period)).where(scope))


async def at_risk(
    session: AsyncSession, *, period: str, scope: ColumnElement[bool], limit: int, offset: int
) -> tuple[int, list[ValueReview]]:
    """A period's reviews by value at risk, highest first; (total, page)."""
    where = (ValueReview.period == period, scope)
    total = await session.scalar(select(func.count()).select_from(ValueReview).where(*where))
    stmt = (
        select(ValueReview)
        .where(*where)
        .order_by(ValueReview.value_at_risk.desc(), ValueReview.customer_id)
        .limit(limit)
        .offset(offset)
    )
    return total or 0, list((await session.scalars(stmt)).all())


def newest_values() -> Any:
    """Subquery (customer_id, current_value, value_at_risk, currency) of each customer's newest review:
    what orders cases and sums the value retained, lost and at risk on the scorecard."""
    newest = (
        select(ValueReview.customer_id, func.max(ValueReview.period).label("period"))
        .group_by(ValueReview.customer_id)
        .subquery()
    )
    return (
        select(
            ValueReview.customer_id,
            ValueReview.current_value,
            ValueReview.value_at_risk,
            ValueReview.currency,
        )
        .join(
            newest,
            (newest.c.customer_id == ValueReview.customer_id)
            & (newest.c.period == ValueReview.period),
        )
        .subquery()
    )


async def value_at_risk_of(
    session: AsyncSession, *, customer_ids: Sequence[str]
) -> dict[str, Decimal]:
    """Each customer's value at risk from their newest review (for ordering a case list)."""
    if not customer_ids:
        return {}
    newest = newest_values()
    stmt = select(newest.c.customer_id, newest.c.value_at_risk).where(
        newest.c.customer_id.in_(customer_ids)
    )
    return {c: v for c, v in (await session.execute(stmt)).all()}


@dataclass(frozen=True, slots=True)
class BookRow:
    key: str | None
    customers: int
    current_value: Decimal
    potential_value: Decimal
    value_at_risk: Decimal


async def book(
    session: AsyncSession, *, period: str, scope: ColumnElement[bool], group_by: str
) -> list[BookRow]:
    """Sums of a period's reviews per manager, team or branch (customer's current assignment)."""
    lead = aliased(Manager)
    key: InstrumentedAttribute[Any] = {
        "manager": Assignment.relationship_manager_id,
        "team": lead.team_id,
        "branch": Assignment.branch_id,
    }[group_by]
    stmt = (
        select(
            key.label("key"),
            func.count().label("customers"),
            func.coalesce(func.sum(ValueReview.current_value), literal(0)),
            func.coalesce(func.sum(ValueReview.potential_value), literal(0)),
            func.coalesce(func.sum(ValueReview.value_at_risk), literal(0)),
        )
        .select_from(ValueReview)
        .outerjoin(Assignment, Assignment.customer_id == ValueReview.customer_id)
        .outerjoin(lead, lead.id == Assignment.relationship_manager_id)
        .where(ValueReview.period == period, scope)
        .group_by(key)
        .order_by(func.sum(ValueReview.value_at_risk).desc(), key)
    )
    return [
        BookRow(k, n, Decimal(c), Decimal(p), Decimal(r))
        for k, n, c, p, r in (await session.execute(stmt)).all()
    ]


@dataclass(frozen=True, slots=True)
class AccuracyRow:
    customers: int
    mae: Decimal | None
    bias: Decimal | None
    within: int


async def accuracy(
    session: AsyncSession,
    *,
    period: str,
    next_period: str,
    scope: ColumnElement[bool],
    tolerance: Decimal,
) -> AccuracyRow:
    """Predicted (``period``'s potential) against actual (``next_period``'s current value)."""
    actual = aliased(ValueReview)
    error = ValueReview.potential_value - actual.current_value
    stmt = (
        select(
            func.count(),
            func.avg(func.abs(error)),
            func.avg(error),
            func.coalesce(
                func.sum(
                    case(
                        (func.abs(error) <= tolerance * func.abs(actual.current_value), 1), else_=0
                    )
                ),
                0,
            ),
        )
        .select_from(ValueReview)
        .join(
            actual,
            (actual.customer_id == ValueReview.customer_id) & (actual.period == next_period),
        )
        .where(ValueReview.period == period, scope)
    )
    n, mae, bias, within = (await session.execute(stmt)).one()
    return AccuracyRow(
        n,
        Decimal(mae) if mae is not None else None,
        Decimal(bias) if bias is not None else None,
        int(within),
    )


async def newest_values_of(
    session: AsyncSession, *, customer_ids: Sequence[str]
) -> dict[str, tuple[Decimal, Decimal]]:
    """Each customer's (current value, value at risk) from their newest review."""
    if not customer_ids:
        return {}
    newest = newest_values()
    stmt = select(newest.c.customer_id, newest.c.current_value, newest.c.value_at_risk).where(
        newest.c.customer_id.in_(customer_ids)
    )
    return {c: (v, r) for c, v, r in (await session.execute(stmt)).all()}


async def reviewed_periods(
    session: AsyncSession, *, scope: ColumnElement[bool], limit: int
) -> list[str]:
    """The newest reviewed periods among the visible customers, newest first."""
    stmt = (
        select(ValueReview.period)
        .where(scope)
        .group_by(ValueReview.period)
        .order_by(ValueReview.period.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())
