"""Storing alerts from the alert topic: upsert by alert id, route, start the SLA clock, notify."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.alerts import repository
from churnwatch_alerts.audit import SYSTEM_INTAKE, record
from churnwatch_alerts.metrics import DUPLICATES, RECEIVED, ROUTED
from churnwatch_alerts.models import AlertRecord, AlertStatus, Assignment, Manager
from churnwatch_alerts.notifications import outbox
from churnwatch_alerts.routing import route_target, target_kind
from churnwatch_shared.alerts import Alert, Severity


def sla_deadline(
    *, severity: str, now: datetime, sla_seconds: dict[Severity, int]
) -> datetime | None:
    """When an unacknowledged alert of this severity escalates; None when it never does."""
    seconds = sla_seconds.get(Severity(severity))
    return now + timedelta(seconds=seconds) if seconds else None


async def critical_copies(session: AsyncSession, *, assignment: Assignment | None) -> list[str]:
    """Critical alerts also reach the wealth advisor and the relationship manager's team lead."""
    if assignment is None:
        return []
    copies = [assignment.wealth_advisor_id or ""]
    if assignment.relationship_manager_id:
        manager = await session.get(Manager, assignment.relationship_manager_id)
        if manager is not None and manager.supervisor_id:
            copies.append(manager.supervisor_id)
    return [c for c in copies if c]


async def store_alert(
    session: AsyncSession, *, alert: Alert, now: datetime, sla_seconds: dict[Severity, int]
) -> bool:
    """Insert a new alert routed to its manager; a replayed alert id changes nothing."""
    assignment = await session.get(Assignment, alert.customer_id)
    target = route_target(assignment=assignment, branch_hint=alert.branch_id)
    inserted = await repository.insert_if_new(
        session,
        values={
            "id": alert.alert_id,
            "customer_id": alert.customer_id,
            "kind": alert.kind.value,
            "state": alert.state.value,
            "rule_id": alert.rule_id,
            "severity": alert.severity.value,
            "priority": alert.priority,
            "title": alert.title,
            "status": AlertStatus.OPEN.value,
            "assigned_to": target,
            "payload": alert.model_dump(mode="json"),
            "occurred_at": alert.occurred_at,
            "detected_at": alert.detected_at,
            "received_at": now,
            "updated_at": now,
            "escalation_level": 0,
            "escalate_at": sla_deadline(
                severity=alert.severity.value, now=now, sla_seconds=sla_seconds
            ),
        },
    )
    if not inserted:
        DUPLICATES.inc()
        return False
    RECEIVED.inc()
    ROUTED.labels(target=target_kind(target)).inc()
    record(
        session,
        actor=SYSTEM_INTAKE,
        action="alert.routed",
        at=now,
        customer_id=alert.customer_id,
        alert_id=alert.alert_id,
        detail={"assigned_to": target, "severity": alert.severity.value},
    )
    stored = await session.get(AlertRecord, alert.alert_id)
    assert stored is not None
    recipients = [target]
    if alert.severity is Severity.CRITICAL:
        recipients += await critical_copies(session, assignment=assignment)
    await outbox.enqueue(
        session, alert=stored, recipients=recipients, event="alert.new", key=f"new:{alert.alert_id}",
        now=now,
    )
    return True
