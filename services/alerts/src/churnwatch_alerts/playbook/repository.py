"""Queries of the playbook: a customer's open alerts, suggestion outcomes, closed alert outcomes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import AlertRecord, AlertStatus, Outcome, SuggestionOutcome


async def open_alerts(session: AsyncSession, *, customer_id: str) -> list[AlertRecord]:
    """The customer's alerts that are not resolved."""
    stmt = select(AlertRecord).where(
        AlertRecord.customer_id == customer_id,
        AlertRecord.status != AlertStatus.RESOLVED.value,
    )
    return list((await session.scalars(stmt)).all())


def add_outcome(session: AsyncSession, *, outcome: SuggestionOutcome) -> None:
    """Stage one outcome row (append-only; the request's transaction writes it)."""
    session.add(outcome)


async def latest_outcomes(
    session: AsyncSession, *, customer_id: str
) -> dict[str, SuggestionOutcome]:
    """The newest recorded outcome of each action for the customer."""
    stmt = (
        select(SuggestionOutcome)
        .where(SuggestionOutcome.customer_id == customer_id)
        .order_by(SuggestionOutcome.id)
    )
    return {o.action_code: o for o in await session.scalars(stmt)}


async def closed_outcomes(
    session: AsyncSession,
    *,
    scope: ColumnElement[bool],
    since: datetime | None,
    until: datetime | None,
) -> dict[str, str]:
    """Each customer's newest retained/lost alert outcome (resolved in the window)."""
    stmt = select(AlertRecord.customer_id, AlertRecord.outcome).where(
        AlertRecord.status == AlertStatus.RESOLVED.value,
        AlertRecord.outcome.in_([Outcome.RETAINED.value, Outcome.LOST.value]),
        scope,
    )
    if since is not None:
        stmt = stmt.where(AlertRecord.resolved_at >= since)
    if until is not None:
        stmt = stmt.where(AlertRecord.resolved_at < until)
    stmt = stmt.order_by(AlertRecord.resolved_at, AlertRecord.id)
    return {c: o for c, o in (await session.execute(stmt)).all() if o is not None}


async def outcome_counts(session: AsyncSession, *, scope: ColumnElement[bool]) -> dict[str, int]:
    """Suggestion outcomes recorded, by kind, over the visible customers."""
    stmt = (
        select(SuggestionOutcome.outcome, func.count())
        .where(scope)
        .group_by(SuggestionOutcome.outcome)
    )
    return {k: n for k, n in (await session.execute(stmt)).all()}
