"""Escalation: reopen due snoozes, climb overdue alerts one level up the chain, notify.

All state (deadlines, levels) lives in the alerts table, so a pass is idempotent for a given time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.alerts import repository as alerts_repo
from churnwatch_alerts.assignments import repository as assignments_repo
from churnwatch_alerts.audit import SYSTEM_ESCALATION, record
from churnwatch_alerts.calendar import BusinessCalendar, Calendars
from churnwatch_alerts.managers import repository as managers_repo
from churnwatch_alerts.metrics import ESCALATED, OLDEST_UNACKED_CRITICAL
from churnwatch_alerts.models import AlertRecord, AlertStatus, Role
from churnwatch_alerts.notifications import outbox
from churnwatch_alerts.routing import sla_branch, sla_deadline
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.alerts import Severity

# Alerts escalated per pass at most; the rest wait for the next tick (keeps a pass's locks short).
ESCALATIONS_PER_PASS = 200


@dataclass(slots=True)
class EscalationRun:
    """What one pass did."""

    reopened: int = 0
    escalated: int = 0
    exhausted: int = 0


async def next_in_chain(session: AsyncSession, *, alert: AlertRecord) -> str | None:
    """Whom the alert climbs to: the current holder's supervisor, else the branch head."""
    holder = alert.escalated_to or alert.assigned_to
    if holder.startswith("branch:"):
        return await managers_repo.branch_head(session, branch_id=holder.removeprefix("branch:"))
    manager = await managers_repo.get(session, manager_id=holder)
    if manager is not None and manager.supervisor_id:
        return manager.supervisor_id
    if manager is not None and manager.role == Role.BRANCH_HEAD.value:
        return None
    assignment = await assignments_repo.get(session, customer_id=alert.customer_id)
    branch = (manager.branch_id if manager else None) or (
        assignment.branch_id if assignment else None
    )
    head = await managers_repo.branch_head(session, branch_id=branch)
    return head if head != holder else None


async def sla_calendar(
    session: AsyncSession, *, calendars: Calendars, alert: AlertRecord
) -> BusinessCalendar:
    """The business calendar of the alert's customer's branch (else the default one)."""
    if not calendars.branches:  # one calendar for all: no need to look the branch up
        return calendars.default
    assignment = await assignments_repo.get(session, customer_id=alert.customer_id)
    branch = alert.payload.get("branch_id") if isinstance(alert.payload, dict) else None
    return calendars.for_branch(sla_branch(assignment=assignment, alert_branch=branch))


async def run_once(
    session: AsyncSession, *, now: datetime, settings: AlertsSettings
) -> EscalationRun:
    """Reopen due snoozes, escalate overdue alerts one level; idempotent for a given ``now``."""
    result = EscalationRun()
    calendars = settings.calendars
    for alert in await alerts_repo.snoozed_due(session, now=now):
        alert.status = AlertStatus.OPEN.value
        alert.snoozed_until = None
        alert.escalate_at = sla_deadline(
            severity=alert.severity,
            now=now,
            sla_seconds=settings.sla_seconds,
            calendar=await sla_calendar(session, calendars=calendars, alert=alert),
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
    for alert in await alerts_repo.escalation_due(session, now=now, limit=ESCALATIONS_PER_PASS):
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
        alert.escalate_at = sla_deadline(  # the next level's SLA, in the same business time
            severity=alert.severity,
            now=now,
            sla_seconds=settings.sla_seconds,
            calendar=await sla_calendar(session, calendars=calendars, alert=alert),
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
    oldest = await alerts_repo.oldest_open_received_at(session, severity=Severity.CRITICAL)
    OLDEST_UNACKED_CRITICAL.set((now - oldest).total_seconds() if oldest is not None else 0)
    return result
