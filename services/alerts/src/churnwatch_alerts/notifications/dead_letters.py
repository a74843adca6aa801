"""Dead letters: notifications given up on, listed and redriven (API and CLI share this).

A redrive puts the row back to pending with a fresh retry window; its id, and so the delivery id
receivers dedupe on, stays the same. Every redrive writes one audit row per notification.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts import audit
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.models import Notification, Role
from churnwatch_alerts.notifications import repository
from churnwatch_alerts.notifications.repository import DeadLetterFilter

__all__ = [
    "DEAD_LETTER_ROLES",
    "DeadLetterFilter",
    "describe",
    "list_dead",
    "redrive",
    "visible_to",
]

# Roles that may see and redrive dead letters (team leads: their team's only).
DEAD_LETTER_ROLES = frozenset({Role.TEAM_LEAD, Role.ADMIN})


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Condition on ``Notification``: the dead letters this principal may see and redrive."""
    return repository.dead_letters_visible_to(principal)


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
    return await repository.dead_page(session, filters=filters, limit=limit, offset=offset)


async def redrive(
    session: AsyncSession, *, filters: DeadLetterFilter, actor: str, now: datetime
) -> list[Notification]:
    """Put matching dead letters back to pending now, with a new retry window; audited."""
    rows = await repository.lock_dead(session, filters=filters)
    if not rows:
        return []
    before = {r.id: (r.attempts, r.last_error) for r in rows}
    await repository.requeue(session, ids=[r.id for r in rows], now=now)
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
