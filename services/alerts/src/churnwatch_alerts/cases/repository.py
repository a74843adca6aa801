"""Every query on cases: the customer's alerts grouped into one row per customer, keyset-paged.

A case's status comes from its alerts: ``open`` while any alert is open, ``in_progress`` while the
rest are acknowledged or snoozed, ``closed`` when all are resolved. Ordered by ``priority``: by
status (open first), then by the highest priority among unresolved alerts, then by customer id.
Ordered by ``value_at_risk``: unresolved cases first, then by the value at risk of the customer's
newest value review (none counts as 0), highest first, then by customer id. The cursor is the
sort key, so every case is reachable however many there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import AlertRecord, AlertStatus, Assignment, CaseEntry
from churnwatch_alerts.value.repository import newest_values

UNRESOLVED = AlertRecord.status != AlertStatus.RESOLVED.value
STATUS_RANK = {"open": 0, "in_progress": 1, "closed": 2}


@dataclass(frozen=True, slots=True)
class CaseFilters:
    status: Sequence[str] = ()
    severity: Sequence[str] = ()
    manager: str | None = None
    escalated: bool | None = None
    sla_breached: bool | None = None
    query: str | None = None


Order = Literal["priority", "value_at_risk"]


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row of a page: ``sort_key`` is the priority sort key, or 1 for a closed case and
    0 otherwise when ordered by value at risk (then ``value_at_risk`` is set)."""

    sort_key: int
    customer_id: str
    value_at_risk: Decimal | None = None


def _grouped(*, scope: ColumnElement[bool], now: datetime) -> Any:
    open_ = func.sum(case((AlertRecord.status == AlertStatus.OPEN.value, 1), else_=0))
    unresolved = func.sum(case((UNRESOLVED, 1), else_=0))
    status_rank = case((open_ > 0, 0), (unresolved > 0, 1), else_=2)
    top = func.coalesce(func.max(case((UNRESOLVED, AlertRecord.priority), else_=None)), 0)
    breached = func.sum(
        case(
            (
                and_(
                    UNRESOLVED,
                    or_(
                        AlertRecord.escalation_level > 0,
                        and_(
                            AlertRecord.status == AlertStatus.OPEN.value,
                            AlertRecord.escalate_at <= now,
                        ),
                    ),
                ),
                1,
            ),
            else_=0,
        )
    )
    return (
        select(
            AlertRecord.customer_id.label("customer_id"),
            (status_rank * 1000 + (100 - top)).label("sort_key"),
            status_rank.label("status_rank"),
            top.label("top_priority"),
            func.count().label("alerts"),
            open_.label("open_alerts"),
            unresolved.label("unresolved_alerts"),
            func.max(case((UNRESOLVED, AlertRecord.escalation_level), else_=0)).label(
                "escalation_level"
            ),
            breached.label("breached"),
            func.min(
                case(
                    (AlertRecord.status == AlertStatus.OPEN.value, AlertRecord.escalate_at),
                    else_=None,
                )
            ).label("sla_due_at"),
            func.max(AlertRecord.detected_at).label("last_alert_at"),
        )
        .where(scope)
        .group_by(AlertRecord.customer_id)
    )


async def list_page(
    session: AsyncSession,
    *,
    scope: ColumnElement[bool],
    filters: CaseFilters,
    after: Cursor | None,
    limit: int,
    now: datetime,
    order: Order = "priority",
) -> list[dict[str, Any]]:
    """One page of cases (as dicts), ``limit + 1`` rows at most so the caller sees if more follow."""
    grouped = _grouped(scope=scope, now=now)
    if filters.severity:
        grouped = grouped.where(AlertRecord.severity.in_(filters.severity))
    if filters.manager:
        grouped = grouped.where(
            or_(
                AlertRecord.assigned_to == filters.manager,
                AlertRecord.escalated_to == filters.manager,
            )
        )
    sub = grouped.subquery()
    value = newest_values()
    at_risk = func.coalesce(value.c.value_at_risk, 0)
    closed = case((sub.c.status_rank == STATUS_RANK["closed"], 1), else_=0)
    stmt = (
        select(
            sub,
            Assignment,
            value.c.value_at_risk.label("value_at_risk"),
            value.c.currency.label("value_currency"),
            closed.label("closed_rank"),
        )
        .outerjoin(Assignment, Assignment.customer_id == sub.c.customer_id)
        .outerjoin(value, value.c.customer_id == sub.c.customer_id)
    )
    if filters.status:
        stmt = stmt.where(sub.c.status_rank.in_([STATUS_RANK[s] for s in filters.status]))
    if filters.escalated is not None:
        stmt = stmt.where((sub.c.escalation_level > 0) == filters.escalated)
    if filters.sla_breached is not None:
        stmt = stmt.where((sub.c.breached > 0) == filters.sla_breached)
    if filters.query:
        needle = filters.query.strip().lower()
        stmt = stmt.where(
            or_(
                func.lower(sub.c.customer_id) == needle,
                func.lower(Assignment.display_name).contains(needle, autoescape=True),
                func.lower(sub.c.customer_id).startswith(needle, autoescape=True),
            )
        )
    if order == "value_at_risk":
        if after is not None:
            var = after.value_at_risk or Decimal(0)
            stmt = stmt.where(
                or_(
                    closed > after.sort_key,
                    and_(
                        closed == after.sort_key,
                        or_(
                            at_risk < var,
                            and_(at_risk == var, sub.c.customer_id > after.customer_id),
                        ),
                    ),
                )
            )
        stmt = stmt.order_by(closed, at_risk.desc(), sub.c.customer_id)
    else:
        if after is not None:
            stmt = stmt.where(
                or_(
                    sub.c.sort_key > after.sort_key,
                    and_(sub.c.sort_key == after.sort_key, sub.c.customer_id > after.customer_id),
                )
            )
        stmt = stmt.order_by(sub.c.sort_key, sub.c.customer_id)
    stmt = stmt.limit(limit + 1)
    rows = []
    for row in (await session.execute(stmt)).all():
        data = dict(row._mapping)
        data["assignment"] = data.pop("Assignment")
        rows.append(data)
    return rows


async def alerts_of(
    session: AsyncSession, *, customer_id: str, scope: ColumnElement[bool]
) -> list[AlertRecord]:
    """The customer's alerts the caller may see, newest first."""
    stmt = (
        select(AlertRecord)
        .where(AlertRecord.customer_id == customer_id, scope)
        .order_by(AlertRecord.detected_at.desc())
    )
    return list((await session.scalars(stmt)).all())


async def entries_of(session: AsyncSession, *, customer_id: str) -> list[CaseEntry]:
    """The case's notes and contacts, oldest first."""
    stmt = select(CaseEntry).where(CaseEntry.customer_id == customer_id).order_by(CaseEntry.at)
    return list((await session.scalars(stmt)).all())


async def last_contact(session: AsyncSession, *, customer_id: str) -> CaseEntry | None:
    """The customer's most recent logged contact."""
    stmt = (
        select(CaseEntry)
        .where(CaseEntry.customer_id == customer_id, CaseEntry.kind == "contact")
        .order_by(CaseEntry.at.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()
