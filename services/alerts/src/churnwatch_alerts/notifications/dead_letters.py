"""Dead letters: notifications given up on, listed and redriven (API and CLI share this).

A redrive puts the row back to pending with a fresh retry window; its id, and so the delivery id
receivers dedupe on, stays the same. Every redrive writes one audit row per notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts import audit
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.models import Manager, Notification, NotificationStatus, Role

# Roles that may see and redrive dead letters (team leads: their team's only).
DEAD_LETTER_ROLES = frozenset({Role.TEAM_LEAD, Role.ADMIN})


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Condition on ``Notification``: the dead letters this principal may see and redrive."""
    if principal.role is Role.ADMIN:
        return true()
    conditions: list[ColumnElement[bool]] = [Notification.recipient == principal.id]
    if principal.role is Role.TEAM_LEAD and principal.team_id:
        team = select(Manager.id).where(Manager.team_id == principal.team_id)
        conditions.append(Notification.recipient.in_(team))
    return or_(*conditions)


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Which dead letters: within ``scope``, optionally one recipient, channel or set of ids."""

    scope: ColumnElement[bool]
    recipient: str | None = None
    channel: str | None = None
    ids: tuple[int, ...] | None = None


def _where(stmt: Select[Any], filters: DeadLetterFilter) -> Select[Any]:
    stmt = stmt.where(Notification.status == NotificationStatus.DEAD.value, filters.scope)
    if filters.recipient is not None:
        stmt = stmt.where(Notification.recipient == filters.recipient)
    if filters.channel is not None:
        stmt = stmt.where(Notification.channel == filters.channel)
    if filters.ids is not None:
        stmt = stmt.where(Notification.id.in_(filters.ids))
    return stmt


def describe(row: Notification) -> dict[str, Any]:
    """A dead letter as shown by the API and the CLI (no message text beyond ids)."""
    return {
        "id": row.id,
        "recipient": row.recipient,
        "channel": row.channel,
        "event": row.event,
        "alert_id": row.alert_id,
        "customer_id": row.payload.get("customer_id"),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "dead_at": row.dead_at,
        "redriven_at": row.redriven_at,
        "status": row.status,
    }


async def list_dead(
    session: AsyncSession, *, filters: DeadLetterFilter, limit: int, offset: int
) -> tuple[int, list[Notification]]:
    """The total and one page of matching dead letters, most recently dead first."""
    total = await session.scalar(_where(select(func.count(Notification.id)), filters))
    stmt = _where(select(Notification), filters).order_by(
        Notification.dead_at.desc(), Notification.id.desc()
    )
    rows = (await session.scalars(stmt.limit(limit).offset(offset))).all()
    return int(total or 0), list(rows)


async def redrive(
    session: AsyncSession, *, filters: DeadLetterFilter, actor: str, now: datetime
) -> list[Notification]:
    """Put matching dead letters back to pending now, with a new retry window; audited."""
    stmt = _where(select(Notification), filters).order_by(Notification.id).with_for_update()
    rows = list((await session.scalars(stmt)).all())
    if not rows:
        return []
    before = {r.id: (r.attempts, r.last_error) for r in rows}
    await session.execute(
        update(Notification)
        .where(
            Notification.id.in_([r.id for r in rows]),
            Notification.status == NotificationStatus.DEAD.value,
        )
        .values(
            status=NotificationStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            dead_at=None,
            redriven_at=now,
            lease_id=None,
        )
        .execution_options(synchronize_session="fetch")
    )
    for row in rows:
        audit.record(
            session,
            actor=actor,
            action="notification.redriven",
            at=now,
            customer_id=row.payload.get("customer_id"),
            alert_id=row.alert_id,
            detail={
                "notification_id": row.id,
                "recipient": row.recipient,
                "channel": row.channel,
                "attempts_before": before[row.id][0],
                "last_error": before[row.id][1],
            },
        )
    return rows
