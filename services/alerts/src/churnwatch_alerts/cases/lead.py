"""The lead's scorecard: per manager and for the team, response time, SLA kept, outcomes.

Response time is from an alert's arrival to its first action (acknowledge, else resolve). An
alert kept its SLA when it was acted on without climbing the escalation chain; it breached it
when it escalated, or is still open past its deadline.

Value retained (lost) is the current value, from the newest value review, of the customers with
an alert resolved as retained (lost); value at risk sums the newest review's value at risk of the
customers with an unresolved alert. Customers with no review count 0.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.access import visible_alerts
from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.cases.schemas import ManagerScore, Scorecard
from churnwatch_alerts.models import AlertRecord, AlertStatus, Manager
from churnwatch_alerts.value import repository as value_repo

Values = dict[str, tuple[Decimal, Decimal]]
ZERO = Decimal(0)


def _sum(customers: set[str], values: Values, column: int) -> Decimal:
    return sum((values[c][column] for c in customers if c in values), ZERO)


def _score(
    manager_id: str, team_id: str | None, alerts: list[AlertRecord], now: datetime, values: Values
) -> ManagerScore:
    responses = []
    kept = breached = acknowledged = 0
    outcomes: dict[str, int] = {}
    for a in alerts:
        first = a.acknowledged_at or a.resolved_at
        if first is not None:
            responses.append((first - a.received_at).total_seconds() / 60)
            acknowledged += a.acknowledged_at is not None
        late = (
            a.status == AlertStatus.OPEN.value
            and a.escalate_at is not None
            and a.escalate_at <= now
        )
        if a.escalation_level > 0 or late:
            breached += 1
        elif first is not None:
            kept += 1
        if a.outcome:
            outcomes[a.outcome] = outcomes.get(a.outcome, 0) + 1
    customers = {a.customer_id for a in alerts}
    open_customers = {a.customer_id for a in alerts if a.status != AlertStatus.RESOLVED.value}
    retained = {a.customer_id for a in alerts if a.outcome == "retained"}
    lost = {a.customer_id for a in alerts if a.outcome == "lost"}
    return ManagerScore(
        manager_id=manager_id,
        team_id=team_id,
        cases=len(customers),
        open_cases=len(open_customers),
        alerts=len(alerts),
        acknowledged=acknowledged,
        median_response_minutes=round(statistics.median(responses), 1) if responses else None,
        sla_kept=kept,
        sla_breached=breached,
        resolved_by_outcome=outcomes,
        value_retained=_sum(retained, values, 0),
        value_lost=_sum(lost, values, 0),
        value_at_risk=_sum(open_customers, values, 1),
    )


async def scorecard(
    session: AsyncSession, *, principal: Principal, currency: str, now: datetime
) -> Scorecard:
    """Scores of every holder of the caller's visible alerts (managers and queues), and the total."""
    alerts = list(
        (await session.scalars(select(AlertRecord).where(visible_alerts(principal)))).all()
    )
    by_holder: dict[str, list[AlertRecord]] = {}
    for a in alerts:
        by_holder.setdefault(a.assigned_to, []).append(a)
    teams = {
        m.id: m.team_id
        for m in await session.scalars(select(Manager).where(Manager.id.in_(by_holder)))
    }
    values = await value_repo.newest_values_of(
        session, customer_ids=sorted({a.customer_id for a in alerts})
    )
    managers = [
        _score(holder, teams.get(holder), rows, now, values)
        for holder, rows in sorted(by_holder.items())
    ]
    record(session, actor=principal.id, action="case.scorecard", at=now)
    return Scorecard(
        managers=managers,
        team=_score("team", principal.team_id, alerts, now, values),
        currency=currency,
    )
