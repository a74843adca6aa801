"""One open churn-risk alert per customer (issues 15 and 17): later ones update it in place.

A score that moves up and down leaves a single alert whose current version is the newest, with
every superseded version kept; a redelivered monitor alert changes nothing; only rises in level
notify; a new alert is raised only after the open one was resolved.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.alerts.service import store_alerts
from churnwatch_alerts.models import AlertRecord, AlertVersion, Notification
from churnwatch_shared.alerts import (
    Alert,
    AlertKind,
    CustomerStateName,
    Reason,
    Severity,
    alert_id_for,
)
from tests.alerts.conftest import T0

pytestmark = pytest.mark.integration

CUSTOMER = "C-churn-inplace"
LEVELS = {40: Severity.WATCH, 55: Severity.WARNING, 80: Severity.CRITICAL}


def churn_alert(score: float, n: int, *, customer: str = CUSTOMER) -> Alert:
    severity = max(
        (s for threshold, s in LEVELS.items() if score >= threshold), key=list(Severity).index
    )
    return Alert(
        alert_id=alert_id_for(customer_id=customer, rule_id="churn_risk", condition_key=f"v{n}"),
        kind=AlertKind.CHURN_RISK,
        customer_id=customer,
        state=CustomerStateName.COMPOSITE,
        rule_id="churn_risk",
        severity=severity,
        priority=int(score),
        title=f"Churn risk {score:.0f}",
        reasons=[
            Reason(
                code="tier_lost",
                state=CustomerStateName.SCALE,
                text="financial assets fell below the tier threshold",
                weight=score,
            )
        ],
        churn_score=score,
        ruleset_version="test-1",
        occurred_at=T0 + timedelta(hours=n),
        detected_at=T0 + timedelta(hours=n, seconds=1),
    )


async def _store(session: AsyncSession, alerts: list[Alert], n: int) -> list[str]:
    return await store_alerts(
        session, alerts=alerts, now=T0 + timedelta(hours=n, seconds=2), sla_seconds={}
    )


async def test_score_up_and_down_updates_one_alert_in_place_with_history(
    session: AsyncSession,
) -> None:
    scores = [42.0, 58.0, 85.0, 61.0, 44.0]
    sent = [churn_alert(score, n) for n, score in enumerate(scores)]
    for n, alert in enumerate(sent):
        await _store(session, [alert], n)
    rows = (
        await session.scalars(select(AlertRecord).where(AlertRecord.customer_id == CUSTOMER))
    ).all()
    assert len(rows) == 1
    current = rows[0]
    assert current.id == sent[0].alert_id
    assert current.version == len(scores)
    assert current.payload["churn_score"] == 44.0
    assert current.severity == Severity.WATCH.value
    assert current.monitor_alert_id == sent[-1].alert_id
    versions = (
        await session.scalars(
            select(AlertVersion)
            .where(AlertVersion.alert_id == current.id)
            .order_by(AlertVersion.version)
        )
    ).all()
    assert [v.churn_score for v in versions] == scores[:-1]
    assert [v.monitor_alert_id for v in versions] == [a.alert_id for a in sent[:-1]]
    # alert.new once, then only the two rises in level (watch -> warning -> critical).
    events = (
        await session.scalars(select(Notification.event).where(Notification.alert_id == current.id))
    ).all()
    assert sorted(events) == ["alert.level_raised", "alert.level_raised", "alert.new"]

    # Redelivery of any version (a restart replays the topic) changes nothing.
    for n, alert in enumerate(sent):
        assert await _store(session, [alert], n + 10) == []
    await session.refresh(current)
    assert current.version == len(scores)
    assert current.payload["churn_score"] == 44.0
    count = await session.scalar(
        select(func.count()).select_from(AlertVersion).where(AlertVersion.alert_id == current.id)
    )
    assert count == len(scores) - 1


async def test_one_batch_with_several_versions_keeps_one_alert(session: AsyncSession) -> None:
    customer = "C-churn-batch"
    batch = [churn_alert(s, n, customer=customer) for n, s in enumerate([50.0, 70.0, 60.0])]
    new = await _store(session, batch, 5)
    assert new == [batch[0].alert_id]
    rows = (
        await session.scalars(select(AlertRecord).where(AlertRecord.customer_id == customer))
    ).all()
    assert len(rows) == 1 and rows[0].payload["churn_score"] == 60.0 and rows[0].version == 3


async def test_a_new_alert_is_raised_only_after_the_open_one_was_resolved(
    session: AsyncSession,
) -> None:
    customer = "C-churn-resolved"
    first = churn_alert(60.0, 1, customer=customer)
    await _store(session, [first], 1)
    row = await session.get(AlertRecord, first.alert_id)
    assert row is not None
    row.status = "resolved"
    row.outcome = "retained"
    await session.flush()
    second = churn_alert(70.0, 2, customer=customer)
    assert await _store(session, [second], 2) == [second.alert_id]
    count = await session.scalar(
        select(func.count()).select_from(AlertRecord).where(AlertRecord.customer_id == customer)
    )
    assert count == 2
