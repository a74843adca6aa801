"""Storing alerts from the alert topic: upsert by alert id, route, start the SLA clock, notify.

A whole poll of alerts is stored with a handful of statements: one query for the customers'
assignments, one for the managers involved, one multi-row ``INSERT ... ON CONFLICT DO NOTHING``
for the alerts and one for their outbox rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.customers.locks import lock_customers
from churnwatch_alerts.managers import repository as managers_repo
from churnwatch_alerts.metrics import DUPLICATES, RECEIVED, ROUTED
from churnwatch_alerts.models import AlertRecord, AlertStatus, Assignment
from churnwatch_alerts.notifications import outbox
from churnwatch_alerts.routing import critical_copies, route_target, sla_deadline, target_kind
from churnwatch_alerts.upsert import insert_for
from churnwatch_shared.alerts import Alert, Severity


def _row(
    alert: Alert, *, target: str, now: datetime, sla_seconds: dict[Severity, int]
) -> dict[str, Any]:
    return {
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
        "acknowledged_at": None,
        "acknowledged_by": None,
        "snoozed_until": None,
        "resolved_at": None,
        "resolved_by": None,
        "outcome": None,
        "note": None,
        "escalated_to": None,
    }


async def store_alerts(
    session: AsyncSession,
    *,
    alerts: Sequence[Alert],
    now: datetime,
    sla_seconds: dict[Severity, int],
) -> list[str]:
    """Insert the new alerts routed to their managers, with their outbox rows; returns new ids.

    Replayed alert ids change nothing. The customers are locked for the transaction (see
    ``customers.locks``) so an assignment applied concurrently either routes these alerts
    here or moves them after they commit.
    """
    unique = list({a.alert_id: a for a in alerts}.values())
    if not unique:
        return []
    customers = sorted({a.customer_id for a in unique})
    await lock_customers(session, customer_ids=customers)
    found = await session.scalars(select(Assignment).where(Assignment.customer_id.in_(customers)))
    assignments = {a.customer_id: a for a in found}
    targets = {
        a.alert_id: route_target(assignment=assignments.get(a.customer_id), branch_hint=a.branch_id)
        for a in unique
    }
    rows = [_row(a, target=targets[a.alert_id], now=now, sla_seconds=sla_seconds) for a in unique]
    # One cached statement, executed for many rows (SQLAlchemy batches them into multi-row VALUES).
    stmt = (
        insert_for(session, AlertRecord.__table__)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(AlertRecord.__table__.c.id)
    )
    inserted = set((await session.scalars(stmt, rows)).all())
    DUPLICATES.inc(len(alerts) - len(inserted))
    if not inserted:
        return []
    new = [a for a in unique if a.alert_id in inserted]
    heads = {
        assignments[a.customer_id].relationship_manager_id or ""
        for a in new
        if a.severity is Severity.CRITICAL and a.customer_id in assignments
    }
    queried = (set(targets.values()) | heads) - {""}
    managers = await managers_repo.by_ids(session, manager_ids=queried)
    # Copies' own managers (advisors, team leads) are needed for their channel preferences.
    recipients: dict[str, list[str]] = {}
    for alert in new:
        listed = [targets[alert.alert_id]]
        if alert.severity is Severity.CRITICAL:
            listed += critical_copies(
                assignment=assignments.get(alert.customer_id), managers=managers
            )
        recipients[alert.alert_id] = listed
    extra = {r for rs in recipients.values() for r in rs} - queried
    managers.update(await managers_repo.by_ids(session, manager_ids=extra))
    records = {row["id"]: AlertRecord(**row) for row in rows if row["id"] in inserted}
    await outbox.enqueue_many(
        session,
        items=[
            outbox.Outgoing(
                alert=records[a.alert_id],
                recipients=recipients[a.alert_id],
                event="alert.new",
                key=f"new:{a.alert_id}",
            )
            for a in new
        ],
        managers=managers,
        now=now,
    )
    RECEIVED.inc(len(new))
    for alert in new:
        ROUTED.labels(target=target_kind(targets[alert.alert_id])).inc()
    return [a.alert_id for a in new]


async def store_alert(
    session: AsyncSession, *, alert: Alert, now: datetime, sla_seconds: dict[Severity, int]
) -> bool:
    """Insert one new alert routed to its manager; a replayed alert id changes nothing."""
    return bool(await store_alerts(session, alerts=[alert], now=now, sla_seconds=sla_seconds))
