"""Every query on the alerts table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import AlertRecord, AlertStatus
from churnwatch_alerts.upsert import insert_for
from churnwatch_shared.alerts import Severity


@dataclass(frozen=True, slots=True)
class AlertFilters:
    status: Sequence[str] = ()
    severity: Sequence[str] = ()
    state: Sequence[str] = ()
    rule_id: str | None = None
    customer_id: str | None = None
    assigned_to: str | None = None


def _filtered(
    stmt: Select[Any], *, scope: ColumnElement[bool], filters: AlertFilters
) -> Select[Any]:
    stmt = stmt.where(scope)
    if filters.status:
        stmt = stmt.where(AlertRecord.status.in_(filters.status))
    if filters.severity:
        stmt = stmt.where(AlertRecord.severity.in_(filters.severity))
    if filters.state:
        stmt = stmt.where(AlertRecord.state.in_(filters.state))
    if filters.rule_id:
        stmt = stmt.where(AlertRecord.rule_id == filters.rule_id)
    if filters.customer_id:
        stmt = stmt.where(AlertRecord.customer_id == filters.customer_id)
    if filters.assigned_to:
        stmt = stmt.where(AlertRecord.assigned_to == filters.assigned_to)
    return stmt


async def insert_new(session: AsyncSession, *, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the alerts whose id is not stored yet; returns the ids that were inserted."""
    # One cached statement, executed for many rows (SQLAlchemy batches them into multi-row VALUES).
    stmt = (
        insert_for(session, AlertRecord.__table__)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(AlertRecord.__table__.c.id)
    )
    return set((await session.scalars(stmt, rows)).all())


async def list_page(
    session: AsyncSession,
    *,
    scope: ColumnElement[bool],
    filters: AlertFilters,
    limit: int,
    offset: int,
) -> tuple[list[AlertRecord], int]:
    """One page of visible alerts, by priority (desc) then detection time (newest first)."""
    total = await session.scalar(
        _filtered(select(func.count()).select_from(AlertRecord), scope=scope, filters=filters)
    )
    stmt = (
        _filtered(select(AlertRecord), scope=scope, filters=filters)
        .order_by(AlertRecord.priority.desc(), AlertRecord.detected_at.desc(), AlertRecord.id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.scalars(stmt)).all()
    return list(rows), int(total or 0)


async def get_visible(
    session: AsyncSession, *, alert_id: str, scope: ColumnElement[bool], for_update: bool = False
) -> AlertRecord | None:
    """One alert when the scope allows it; None both when missing and when not visible."""
    stmt = select(AlertRecord).where(AlertRecord.id == alert_id).where(scope)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def open_alerts_of_customer(session: AsyncSession, *, customer_id: str) -> list[AlertRecord]:
    """Every alert of the customer that is not resolved (these move on a hand-over)."""
    stmt = select(AlertRecord).where(
        AlertRecord.customer_id == customer_id, AlertRecord.status != AlertStatus.RESOLVED.value
    )
    return list((await session.scalars(stmt)).all())


async def history_of_customer(session: AsyncSession, *, customer_id: str) -> list[AlertRecord]:
    """The customer's full alert history, newest first."""
    stmt = (
        select(AlertRecord)
        .where(AlertRecord.customer_id == customer_id)
        .order_by(AlertRecord.detected_at.desc())
    )
    return list((await session.scalars(stmt)).all())


async def reassign_open(
    session: AsyncSession, *, customer_ids: Sequence[str], target: str, now: datetime
) -> int:
    """Move the customers' unresolved alerts to ``target``; returns how many moved."""
    if not customer_ids:
        return 0
    result = await session.execute(
        update(AlertRecord)
        .where(
            AlertRecord.customer_id.in_(customer_ids),
            AlertRecord.status != AlertStatus.RESOLVED.value,
            AlertRecord.assigned_to != target,
        )
        .values(assigned_to=target, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def outcome_counts(
    session: AsyncSession, *, scope: ColumnElement[bool]
) -> list[tuple[str, str, int]]:
    """(rule_id, outcome, count) over resolved visible alerts."""
    stmt = (
        select(AlertRecord.rule_id, AlertRecord.outcome, func.count())
        .where(scope, AlertRecord.status == AlertStatus.RESOLVED.value)
        .group_by(AlertRecord.rule_id, AlertRecord.outcome)
    )
    return [(r, o or "", int(c)) for r, o, c in (await session.execute(stmt)).all()]


async def snoozed_due(session: AsyncSession, *, now: datetime) -> list[AlertRecord]:
    """Snoozed alerts whose time has come, locked (rows another pass holds are skipped)."""
    stmt = select(AlertRecord).where(
        AlertRecord.status == AlertStatus.SNOOZED.value, AlertRecord.snoozed_until <= now
    )
    return list((await session.scalars(stmt.with_for_update(skip_locked=True))).all())


async def escalation_due(session: AsyncSession, *, now: datetime, limit: int) -> list[AlertRecord]:
    """Open alerts past their SLA deadline, most overdue first, locked (held rows skipped)."""
    stmt = (
        select(AlertRecord)
        .where(AlertRecord.status == AlertStatus.OPEN.value, AlertRecord.escalate_at <= now)
        .order_by(AlertRecord.escalate_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(stmt)).all())


async def oldest_open_received_at(session: AsyncSession, *, severity: Severity) -> datetime | None:
    """When the oldest open alert of this severity arrived; None when there is none."""
    return await session.scalar(
        select(func.min(AlertRecord.received_at)).where(
            AlertRecord.status == AlertStatus.OPEN.value,
            AlertRecord.severity == severity.value,
        )
    )
