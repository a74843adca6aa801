"""The lead's scorecard: per manager and for the team, response time, SLA kept, outcomes.

Response time is from an alert's arrival to its first action (acknowledge, else resolve). An
alert kept its SLA when it was acted on without climbing the escalation chain; it breached it
when it escalated, or is still open past its deadline.
"""

from __future__ import annotations

import statistics
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.access import visible_alerts
from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.cases.schemas import ManagerScore, Scorecard
from churnwatch_alerts.models import AlertRecord, AlertStatus, Manager


def _score(
    manager_id: str, team_id: str | None, alerts: list[AlertRecord], now: datetime
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
    )


async def scorecard(session: AsyncSession, *, principal: Principal, now: datetime) -> Scorecard:
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
    managers = [
        _score(holder, teams.get(holder), rows, now) for holder, rows in sorted(by_holder.items())
    ]
    record(session, actor=principal.id, action="case.scorecard", at=now)
    return Scorecard(managers=managers, team=_score("team", principal.team_id, alerts, now))
