"""Notification queries: the outbox, claims and their outcomes, dead letters, digests, backlog.

The only module of the notifications package that builds SQL; the dispatcher, digest builder,
dead-letter service and backlog gauge call these (endpoints -> service -> repository).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.models import (
    AlertRecord,
    DeliveryAttempt,
    Manager,
    Notification,
    NotificationStatus,
    Role,
)
from churnwatch_alerts.upsert import insert_for

PENDING = NotificationStatus.PENDING.value
DEAD = NotificationStatus.DEAD.value


# --- the outbox --------------------------------------------------------------------------------


async def insert_outbox_rows(session: AsyncSession, *, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows; a dedupe key already written is skipped (replays change nothing)."""
    if rows:
        stmt = insert_for(session, Notification.__table__)
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)


async def insert_if_new(session: AsyncSession, *, values: dict[str, Any]) -> bool:
    """Insert one notification unless its dedupe key exists; whether it was new."""
    stmt = (
        insert_for(session, Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def existing_keys(session: AsyncSession, *, keys: Collection[str]) -> set[str]:
    """Which of these dedupe keys exist."""
    if not keys:
        return set()
    stmt = select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys))
    return set((await session.scalars(stmt)).all())


async def due_by_channel(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Pending notifications whose next attempt is due at ``now``, by channel."""
    stmt = (
        select(Notification.channel, func.count())
        .where(Notification.status == PENDING, Notification.next_attempt_at <= now)
        .group_by(Notification.channel)
    )
    return {channel: int(count) for channel, count in (await session.execute(stmt)).all()}


# --- claims and outcomes -----------------------------------------------------------------------


def endpoint_key() -> ColumnElement[str]:
    """Which endpoint a row is sent to: its manager's webhook URL, else the channel itself."""
    return case(
        (Notification.channel == "webhook", "webhook:" + func.coalesce(Manager.webhook_url, "")),
        else_=Notification.channel,
    )


async def due_for_claim(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    full_endpoints: Sequence[str],
    exclude: Collection[int],
) -> list[tuple[Notification, Manager | None, str]]:
    """Due rows with their manager and endpoint, locked ``FOR UPDATE SKIP LOCKED``."""
    stmt = (
        select(Notification, Manager, endpoint_key().label("endpoint"))
        .outerjoin(Manager, Manager.id == Notification.recipient)
        .where(Notification.status == PENDING, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Notification)
    )
    if full_endpoints:
        stmt = stmt.where(endpoint_key().not_in(full_endpoints))
    if exclude:
        stmt = stmt.where(Notification.id.not_in(exclude))
    return [(n, m, str(k)) for n, m, k in (await session.execute(stmt)).all()]


async def record_attempt(
    session: AsyncSession,
    *,
    attempt: DeliveryAttempt,
    lease_id: str,
    values: dict[str, object],
) -> bool:
    """Log the attempt and apply ``values`` if the row is still pending under this lease."""
    session.add(attempt)
    result = await session.execute(
        update(Notification)
        .where(
            Notification.id == attempt.notification_id,
            Notification.lease_id == lease_id,
            Notification.status == PENDING,
        )
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- dead letters ------------------------------------------------------------------------------


def dead_letters_visible_to(principal: Principal) -> ColumnElement[bool]:
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


def _dead(stmt: Select[Any], filters: DeadLetterFilter) -> Select[Any]:
    stmt = stmt.where(Notification.status == DEAD, filters.scope)
    if filters.recipient is not None:
        stmt = stmt.where(Notification.recipient == filters.recipient)
    if filters.channel is not None:
        stmt = stmt.where(Notification.channel == filters.channel)
    if filters.ids is not None:
        stmt = stmt.where(Notification.id.in_(filters.ids))
    return stmt


async def dead_page(
    session: AsyncSession, *, filters: DeadLetterFilter, limit: int, offset: int
) -> tuple[int, list[Notification]]:
    """The total and one page of matching dead letters, most recently dead first."""
    total = await session.scalar(_dead(select(func.count(Notification.id)), filters))
    stmt = _dead(select(Notification), filters).order_by(
        Notification.dead_at.desc(), Notification.id.desc()
    )
    rows = (await session.scalars(stmt.limit(limit).offset(offset))).all()
    return int(total or 0), list(rows)


async def lock_dead(session: AsyncSession, *, filters: DeadLetterFilter) -> list[Notification]:
    """The matching dead letters, locked for the transaction, by id."""
    stmt = _dead(select(Notification), filters).order_by(Notification.id).with_for_update()
    return list((await session.scalars(stmt)).all())


async def requeue(session: AsyncSession, *, ids: Sequence[int], now: datetime) -> None:
    """Dead rows back to pending now with a fresh retry window (same id, same delivery id)."""
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.status == DEAD)
        .values(
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            dead_at=None,
            redriven_at=now,
            lease_id=None,
        )
        .execution_options(synchronize_session="fetch")
    )


# --- digests -----------------------------------------------------------------------------------


async def inbox_rows_between(
    session: AsyncSession,
    *,
    inbox: str,
    start: datetime,
    end: datetime,
    severities: Collection[str],
) -> list[tuple[Notification, AlertRecord]]:
    """Inbox notifications created in ``[start, end)`` of alerts of these severities."""
    stmt = (
        select(Notification, AlertRecord)
        .join(AlertRecord, AlertRecord.id == Notification.alert_id)
        .where(
            Notification.channel == inbox,
            Notification.created_at >= start,
            Notification.created_at < end,
            AlertRecord.severity.in_(severities),
        )
        .order_by(Notification.recipient, Notification.created_at, Notification.id)
    )
    return [(n, a) for n, a in (await session.execute(stmt)).all()]
