"""One open churn-risk alert per customer: a newer churn-risk alert updates the open one in place.

While a customer's churn-risk alert is not resolved, each new churn-risk alert from the monitor
becomes its next version (score, level, reasons); the version it replaces is kept in
``alert_versions`` and shows in the case timeline. A new alert is raised only once the previous
one was resolved. Every monitor alert id is remembered (the current version's on the alert row,
older ones on their version rows), so a redelivered alert changes nothing; only a rise in level
notifies, so a score moving up and down does not page the manager on every update.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.audit import SYSTEM_INTAKE, record
from churnwatch_alerts.calendar import BusinessCalendar
from churnwatch_alerts.models import AlertRecord, AlertStatus, AlertVersion
from churnwatch_alerts.notifications import outbox
from churnwatch_alerts.routing import sla_deadline
from churnwatch_shared.alerts import SEVERITY_RANK, Alert, AlertKind, Severity

LEVEL_RAISED = "alert.level_raised"


async def seen_monitor_ids(session: AsyncSession, *, ids: Sequence[str]) -> set[str]:
    """Which of these monitor alert ids are stored already (as an alert, or as any version)."""
    if not ids:
        return set()
    alerts = select(AlertRecord.id, AlertRecord.monitor_alert_id).where(
        (AlertRecord.id.in_(ids)) | (AlertRecord.monitor_alert_id.in_(ids))
    )
    seen: set[str] = set()
    for alert_id, monitor_id in (await session.execute(alerts)).all():
        seen.update(x for x in (alert_id, monitor_id) if x is not None and x in ids)
    versions = select(AlertVersion.monitor_alert_id).where(AlertVersion.monitor_alert_id.in_(ids))
    seen.update((await session.scalars(versions)).all())
    return seen


async def open_churn_alerts(
    session: AsyncSession, *, customer_ids: Sequence[str]
) -> dict[str, AlertRecord]:
    """Each customer's unresolved churn-risk alert (the newest, should older data hold several)."""
    if not customer_ids:
        return {}
    stmt = (
        select(AlertRecord)
        .where(
            AlertRecord.customer_id.in_(customer_ids),
            AlertRecord.kind == AlertKind.CHURN_RISK.value,
            AlertRecord.status != AlertStatus.RESOLVED.value,
        )
        .order_by(AlertRecord.detected_at)
        .with_for_update()
    )
    return {row.customer_id: row for row in await session.scalars(stmt)}


def _version_of(alert: AlertRecord, *, now: datetime) -> AlertVersion:
    score = alert.payload.get("churn_score")
    return AlertVersion(
        alert_id=alert.id,
        version=alert.version,
        monitor_alert_id=alert.monitor_alert_id or alert.id,
        severity=alert.severity,
        priority=alert.priority,
        churn_score=float(score) if score is not None else None,
        title=alert.title,
        payload=alert.payload,
        detected_at=alert.detected_at,
        superseded_at=now,
    )


def _older_version(current: AlertRecord, incoming: Alert, *, now: datetime) -> AlertVersion:
    """A late, never-seen alert older than the current version: history only."""
    return AlertVersion(
        alert_id=current.id,
        version=0,
        monitor_alert_id=incoming.alert_id,
        severity=incoming.severity.value,
        priority=incoming.priority,
        churn_score=incoming.churn_score,
        title=incoming.title,
        payload=incoming.model_dump(mode="json"),
        detected_at=incoming.detected_at,
        superseded_at=now,
    )


async def supersede(
    session: AsyncSession,
    *,
    current: AlertRecord,
    incoming: Alert,
    now: datetime,
    sla_seconds: dict[Severity, int],
    calendar: BusinessCalendar | None = None,
) -> bool:
    """Make ``incoming`` the current version of ``current``; True when its level rose (notified)."""
    if incoming.detected_at < current.detected_at:
        session.add(_older_version(current, incoming, now=now))
        return False
    session.add(_version_of(current, now=now))
    before = Severity(current.severity)
    before_score = current.payload.get("churn_score")
    current.severity = incoming.severity.value
    current.priority = incoming.priority
    current.title = incoming.title
    current.state = incoming.state.value
    current.rule_id = incoming.rule_id
    current.payload = incoming.model_dump(mode="json")
    current.occurred_at = incoming.occurred_at
    current.detected_at = incoming.detected_at
    current.monitor_alert_id = incoming.alert_id
    current.version += 1
    current.updated_at = now
    raised = SEVERITY_RANK[incoming.severity] > SEVERITY_RANK[before]
    record(
        session,
        actor=SYSTEM_INTAKE,
        action="alert.superseded",
        at=now,
        customer_id=current.customer_id,
        alert_id=current.id,
        detail={
            "version": current.version,
            "from_severity": before.value,
            "to_severity": incoming.severity.value,
            "from_score": before_score,
            "to_score": incoming.churn_score,
        },
    )
    if raised:
        if current.status == AlertStatus.OPEN.value:
            deadline = sla_deadline(
                severity=current.severity, now=now, sla_seconds=sla_seconds, calendar=calendar
            )
            if deadline is not None and (
                current.escalate_at is None or deadline < current.escalate_at
            ):
                current.escalate_at = deadline
        await outbox.enqueue(
            session,
            alert=current,
            recipients=[current.assigned_to],
            event=LEVEL_RAISED,
            key=f"level:{current.id}:{current.version}",
            now=now,
        )
    return raised
