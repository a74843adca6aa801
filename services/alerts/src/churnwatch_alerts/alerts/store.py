"""Storing new alerts from the alert topic: upsert by alert id, route, start the SLA clock, notify.

A whole poll of alerts is stored with a handful of statements: one query for the customers'
assignments, one for the managers involved, one multi-row ``INSERT ... ON CONFLICT DO NOTHING``
for the alerts and one for their outbox rows. A churn-risk alert for a customer who already has
an open one updates it in place (alerts/supersede.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.alerts import repository, supersede
from churnwatch_alerts.assignments import repository as assignments_repo
from churnwatch_alerts.calendar import ALWAYS, BusinessCalendar, Calendars
from churnwatch_alerts.customers.locks import lock_customers
from churnwatch_alerts.managers import repository as managers_repo
from churnwatch_alerts.metrics import DUPLICATES, RECEIVED, ROUTED, SUPERSEDED
from churnwatch_alerts.models import AlertRecord, AlertStatus
from churnwatch_alerts.notifications import outbox
from churnwatch_alerts.routing import (
    critical_copies,
    route_target,
    sla_branch,
    sla_deadline,
    target_kind,
)
from churnwatch_shared.alerts import Alert, AlertKind, Severity


def _new_row(
    alert: Alert,
    *,
    target: str,
    now: datetime,
    sla_seconds: dict[Severity, int],
    calendar: BusinessCalendar | None = None,
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
            severity=alert.severity.value, now=now, sla_seconds=sla_seconds, calendar=calendar
        ),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "snoozed_until": None,
        "resolved_at": None,
        "resolved_by": None,
        "outcome": None,
        "note": None,
        "escalated_to": None,
        "monitor_alert_id": alert.alert_id,
        "version": 1,
    }


async def store_alerts(
    session: AsyncSession,
    *,
    alerts: Sequence[Alert],
    now: datetime,
    sla_seconds: dict[Severity, int],
    calendars: Calendars = ALWAYS,
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
    churn = [a for a in unique if a.kind is AlertKind.CHURN_RISK]
    if not churn:
        return await _insert_new(
            session, alerts=unique, now=now, sla_seconds=sla_seconds, calendars=calendars
        )
    # One open churn-risk alert per customer (alerts/supersede.py): the first churn-risk alert of a
    # customer without an open one is inserted, every later one updates the open one in place.
    seen = await supersede.seen_monitor_ids(session, ids=[a.alert_id for a in churn])
    fresh = sorted((a for a in churn if a.alert_id not in seen), key=lambda a: a.detected_at)
    held = await supersede.open_churn_alerts(
        session, customer_ids=sorted({a.customer_id for a in fresh})
    )
    firsts: dict[str, Alert] = {}
    for alert in fresh:
        if alert.customer_id not in held:
            firsts.setdefault(alert.customer_id, alert)
    others = [a for a in unique if a.kind is not AlertKind.CHURN_RISK] + list(firsts.values())
    new = await _insert_new(
        session, alerts=others, now=now, sla_seconds=sla_seconds, calendars=calendars
    )
    held.update(
        await supersede.open_churn_alerts(session, customer_ids=sorted(firsts)) if firsts else {}
    )
    branches = (  # whose business calendar times a raised level's SLA
        await assignments_repo.of_customers(session, customer_ids=sorted(held))
        if calendars.branches and held
        else {}
    )
    for alert in fresh:
        current = held.get(alert.customer_id)
        if current is None or alert.alert_id in (current.id, current.monitor_alert_id):
            continue
        branch = sla_branch(
            assignment=branches.get(alert.customer_id), alert_branch=alert.branch_id
        )
        await supersede.supersede(
            session,
            current=current,
            incoming=alert,
            now=now,
            sla_seconds=sla_seconds,
            calendar=calendars.for_branch(branch),
        )
        SUPERSEDED.inc()
    DUPLICATES.inc(len(seen))
    return new


async def _insert_new(
    session: AsyncSession,
    *,
    alerts: Sequence[Alert],
    now: datetime,
    sla_seconds: dict[Severity, int],
    calendars: Calendars = ALWAYS,
) -> list[str]:
    unique = list(alerts)
    if not unique:
        return []
    customers = sorted({a.customer_id for a in unique})
    assignments = await assignments_repo.of_customers(session, customer_ids=customers)
    targets = {
        a.alert_id: route_target(assignment=assignments.get(a.customer_id), branch_hint=a.branch_id)
        for a in unique
    }
    rows = [
        _new_row(
            a,
            target=targets[a.alert_id],
            now=now,
            sla_seconds=sla_seconds,
            calendar=calendars.for_branch(
                sla_branch(assignment=assignments.get(a.customer_id), alert_branch=a.branch_id)
            ),
        )
        for a in unique
    ]
    inserted = await repository.insert_new(session, rows=rows)
    DUPLICATES.inc(len(unique) - len(inserted))
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
