"""The alerts service: managers' actions on alerts (list, read, ack, snooze, resolve, precision),
all audited. Storing new alerts from the alert topic is alerts/store.py (re-exported here).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.access import visible_alerts
from churnwatch_alerts.alerts import repository
from churnwatch_alerts.alerts.schemas import AlertDetail, AlertOut, AlertPage, RulePrecision
from churnwatch_alerts.alerts.store import store_alert, store_alerts
from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.cases import wording
from churnwatch_alerts.customers import repository as customers
from churnwatch_alerts.models import AlertRecord, AlertStatus, Outcome

__all__ = [
    "AlertNotFound",
    "InvalidTransition",
    "acknowledge",
    "get_alert",
    "list_alerts",
    "precision_by_rule",
    "resolve",
    "snooze",
    "store_alert",
    "store_alerts",
]


class AlertNotFound(Exception):
    """Missing or not visible to the caller (both answer 404)."""


class InvalidTransition(Exception):
    """The alert's status does not allow this action."""


async def list_alerts(
    session: AsyncSession,
    *,
    principal: Principal,
    filters: repository.AlertFilters,
    limit: int,
    offset: int,
    now: datetime,
) -> AlertPage:
    """The caller's alerts, highest priority first."""
    rows, total = await repository.list_page(
        session, scope=visible_alerts(principal), filters=filters, limit=limit, offset=offset
    )
    record(
        session,
        actor=principal.id,
        action="alert.list",
        at=now,
        detail={"count": len(rows), "customer_ids": sorted({r.customer_id for r in rows})},
    )
    return AlertPage(
        items=[AlertOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


async def _get(
    session: AsyncSession, *, principal: Principal, alert_id: str, for_update: bool = False
) -> AlertRecord:
    alert = await repository.get_visible(
        session, alert_id=alert_id, scope=visible_alerts(principal), for_update=for_update
    )
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


async def get_alert(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_id: str,
    now: datetime,
    currency: str = "CNY",
    zone: tzinfo | None = None,
) -> AlertDetail:
    """One alert with evidence, its reasons and evidence worded in ``currency`` (days in the
    bank's ``zone``), and the customer's current five states."""
    alert = await _get(session, principal=principal, alert_id=alert_id)
    state = await customers.get_state(session, customer_id=alert.customer_id)
    record(
        session,
        actor=principal.id,
        action="alert.read",
        at=now,
        customer_id=alert.customer_id,
        alert_id=alert.id,
    )
    return AlertDetail(
        **AlertOut.model_validate(alert).model_dump(),
        evidence=alert.payload,
        customer_state=state.snapshot if state is not None else None,
        reason_lines=[
            wording.reason_text(
                r, currency=currency, occurred_at=alert.payload.get("occurred_at"), zone=zone
            )
            for r in alert.payload.get("reasons", [])
        ],
        evidence_lines=wording.evidence_lines(alert.payload, currency=currency, zone=zone),
        rule_name=wording.rule_name(alert.rule_id),
    )


def _audit_change(
    session: AsyncSession,
    *,
    principal: Principal,
    alert: AlertRecord,
    action: str,
    now: datetime,
    detail: dict[str, object],
) -> None:
    record(
        session,
        actor=principal.id,
        action=action,
        at=now,
        customer_id=alert.customer_id,
        alert_id=alert.id,
        detail=detail,
    )


async def acknowledge(
    session: AsyncSession, *, principal: Principal, alert_id: str, note: str | None, now: datetime
) -> AlertOut:
    """Acknowledge: stops escalation. Acknowledging twice changes nothing."""
    alert = await _get(session, principal=principal, alert_id=alert_id, for_update=True)
    if alert.status == AlertStatus.RESOLVED.value:
        raise InvalidTransition("alert is resolved; it cannot be acknowledged")
    if alert.status != AlertStatus.ACKNOWLEDGED.value:
        previous = alert.status
        alert.status = AlertStatus.ACKNOWLEDGED.value
        alert.acknowledged_at = now
        alert.acknowledged_by = principal.id
        alert.escalate_at = None
        alert.snoozed_until = None
        if note:
            alert.note = note
        alert.updated_at = now
        _audit_change(
            session,
            principal=principal,
            alert=alert,
            action="alert.ack",
            now=now,
            detail={"from": previous},
        )
    return AlertOut.model_validate(alert)


async def snooze(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_id: str,
    until: datetime,
    note: str | None,
    now: datetime,
) -> AlertOut:
    """Hide the alert until ``until``; the escalation scheduler reopens it then."""
    if until <= now:
        raise InvalidTransition("until must be in the future")
    alert = await _get(session, principal=principal, alert_id=alert_id, for_update=True)
    if alert.status == AlertStatus.RESOLVED.value:
        raise InvalidTransition("alert is resolved; it cannot be snoozed")
    previous = alert.status
    alert.status = AlertStatus.SNOOZED.value
    alert.snoozed_until = until
    alert.escalate_at = None
    if note:
        alert.note = note
    alert.updated_at = now
    _audit_change(
        session,
        principal=principal,
        alert=alert,
        action="alert.snooze",
        now=now,
        detail={"from": previous, "until": until.isoformat()},
    )
    return AlertOut.model_validate(alert)


async def resolve(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_id: str,
    outcome: Outcome,
    note: str | None,
    now: datetime,
) -> AlertOut:
    """Close the alert with an outcome (retained, lost, false positive, not actionable)."""
    alert = await _get(session, principal=principal, alert_id=alert_id, for_update=True)
    if alert.status == AlertStatus.RESOLVED.value:
        raise InvalidTransition("alert is already resolved")
    previous = alert.status
    alert.status = AlertStatus.RESOLVED.value
    alert.resolved_at = now
    alert.resolved_by = principal.id
    alert.outcome = outcome.value
    alert.note = note
    alert.escalate_at = None
    alert.snoozed_until = None
    alert.updated_at = now
    _audit_change(
        session,
        principal=principal,
        alert=alert,
        action="alert.resolve",
        now=now,
        detail={"from": previous, "outcome": outcome.value},
    )
    return AlertOut.model_validate(alert)


async def precision_by_rule(
    session: AsyncSession, *, principal: Principal, now: datetime
) -> list[RulePrecision]:
    """Per rule: outcomes of resolved alerts and precision = 1 - false positives / judged."""
    counts = await repository.outcome_counts(session, scope=visible_alerts(principal))
    by_rule: dict[str, dict[str, int]] = {}
    for rule_id, outcome, count in counts:
        by_rule.setdefault(rule_id, {})[outcome] = count
    result: list[RulePrecision] = []
    for rule_id, outcomes in sorted(by_rule.items()):
        judged = sum(c for o, c in outcomes.items() if o != Outcome.NOT_ACTIONABLE.value)
        false_pos = outcomes.get(Outcome.FALSE_POSITIVE.value, 0)
        result.append(
            RulePrecision(
                rule_id=rule_id,
                rule_name=wording.rule_name(rule_id),
                resolved=sum(outcomes.values()),
                outcomes=outcomes,
                precision=(judged - false_pos) / judged if judged else None,
            )
        )
    record(session, actor=principal.id, action="alert.precision", at=now)
    return result
