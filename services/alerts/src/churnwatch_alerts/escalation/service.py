"""The escalation scheduler; all state (deadlines, levels) lives in the alerts table."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.audit import SYSTEM_ESCALATION, record
from churnwatch_alerts.clock import Clock
from churnwatch_alerts.metrics import ESCALATED, OLDEST_UNACKED_CRITICAL
from churnwatch_alerts.models import AlertRecord, AlertStatus, Assignment, Manager, Role
from churnwatch_alerts.notifications import outbox
from churnwatch_alerts.routing import sla_deadline
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.alerts import Severity

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class EscalationRun:
    reopened: int = 0
    escalated: int = 0
    exhausted: int = 0


async def _branch_head(session: AsyncSession, *, branch_id: str | None) -> str | None:
    if not branch_id:
        return None
    stmt = (
        select(Manager.id)
        .where(
            Manager.role == Role.BRANCH_HEAD.value, Manager.branch_id == branch_id, Manager.active
        )
        .order_by(Manager.id)
    )
    return (await session.scalars(stmt)).first()


async def next_in_chain(session: AsyncSession, *, alert: AlertRecord) -> str | None:
    """Whom the alert climbs to: the current holder's supervisor, else the branch head."""
    holder = alert.escalated_to or alert.assigned_to
    if holder.startswith("branch:"):
        return await _branch_head(session, branch_id=holder.removeprefix("branch:"))
    manager = await session.get(Manager, holder)
    if manager is not None and manager.supervisor_id:
        return manager.supervisor_id
    if manager is not None and manager.role == Role.BRANCH_HEAD.value:
        return None
    assignment = await session.get(Assignment, alert.customer_id)
    branch = (manager.branch_id if manager else None) or (
        assignment.branch_id if assignment else None
    )
    head = await _branch_head(session, branch_id=branch)
    return head if head != holder else None


async def run_once(
    session: AsyncSession, *, now: datetime, settings: AlertsSettings
) -> EscalationRun:
    """Reopen due snoozes, escalate overdue alerts one level; idempotent for a given ``now``."""
    result = EscalationRun()
    woken = select(AlertRecord).where(
        AlertRecord.status == AlertStatus.SNOOZED.value, AlertRecord.snoozed_until <= now
    )
    for alert in (await session.scalars(woken.with_for_update(skip_locked=True))).all():
        alert.status = AlertStatus.OPEN.value
        alert.snoozed_until = None
        alert.escalate_at = sla_deadline(
            severity=alert.severity, now=now, sla_seconds=settings.sla_seconds
        )
        alert.updated_at = now
        record(
            session,
            actor=SYSTEM_ESCALATION,
            action="alert.reopened",
            at=now,
            customer_id=alert.customer_id,
            alert_id=alert.id,
        )
        result.reopened += 1
    due = (
        select(AlertRecord)
        .where(AlertRecord.status == AlertStatus.OPEN.value, AlertRecord.escalate_at <= now)
        .order_by(AlertRecord.escalate_at)
        .limit(200)
        .with_for_update(skip_locked=True)
    )
    for alert in (await session.scalars(due)).all():
        target = None
        if alert.escalation_level < settings.escalation_max_level:
            target = await next_in_chain(session, alert=alert)
        if target is None:
            alert.escalate_at = None
            record(
                session,
                actor=SYSTEM_ESCALATION,
                action="alert.escalation_exhausted",
                at=now,
                customer_id=alert.customer_id,
                alert_id=alert.id,
                detail={"level": alert.escalation_level},
            )
            result.exhausted += 1
            continue
        alert.escalation_level += 1
        alert.escalated_to = target
        alert.escalate_at = sla_deadline(
            severity=alert.severity, now=now, sla_seconds=settings.sla_seconds
        )
        alert.updated_at = now
        record(
            session,
            actor=SYSTEM_ESCALATION,
            action="alert.escalated",
            at=now,
            customer_id=alert.customer_id,
            alert_id=alert.id,
            detail={"to": target, "level": alert.escalation_level},
        )
        await outbox.enqueue(
            session,
            alert=alert,
            recipients=[target],
            event="alert.escalated",
            key=f"esc:{alert.id}:{alert.escalation_level}",
            now=now,
        )
        ESCALATED.inc()
        result.escalated += 1
    oldest = await session.scalar(
        select(func.min(AlertRecord.received_at)).where(
            AlertRecord.status == AlertStatus.OPEN.value,
            AlertRecord.severity == Severity.CRITICAL.value,
        )
    )
    OLDEST_UNACKED_CRITICAL.set((now - oldest).total_seconds() if oldest is not None else 0)
    return result


class EscalationScheduler:
    """Runs ``run_once`` every interval; a restart picks up deadlines from the database."""

    def __init__(
        self,
        *,
        settings: AlertsSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock = clock

    async def tick(self) -> EscalationRun:
        """One pass in its own transaction."""
        async with self.sessionmaker() as session, session.begin():
            return await run_once(session, now=self.clock.now(), settings=self.settings)

    async def run(self) -> None:
        """Tick forever."""
        while True:
            outcome = await self.tick()
            if outcome.escalated or outcome.reopened:
                log.info("escalation.tick", escalated=outcome.escalated, reopened=outcome.reopened)
            await asyncio.sleep(self.settings.escalation_interval_seconds)
