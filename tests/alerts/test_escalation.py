"""Escalation after the per-severity SLA, with the clock moved by the test (real PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.alerts import service
from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.clock import ManualClock
from churnwatch_alerts.escalation.service import run_once
from churnwatch_alerts.models import AlertRecord, Notification, Role
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.alerts import Severity
from tests.alerts.conftest import T0
from tests.alerts.factories import make_alert
from tests.alerts.seed import team_customer

pytestmark = pytest.mark.integration

SLA = {Severity.CRITICAL: 60, Severity.WARNING: 600}


async def _setup(session: AsyncSession, *, severity: Severity) -> tuple[str, AlertRecord, str]:
    tag = uuid.uuid4().hex[:6]
    customer = await team_customer(session, tag=tag, branch=f"BR-{tag}", at=T0)
    alert = make_alert(customer_id=customer, at=T0, severity=severity)
    await store_alert(session, alert=alert, now=T0, sla_seconds=SLA)
    stored = await session.get(AlertRecord, alert.alert_id)
    assert stored is not None
    return f"rm.{tag}", stored, tag


async def test_critical_alert_climbs_the_chain_until_acknowledged(session: AsyncSession) -> None:
    settings = AlertsSettings(sla_seconds=SLA, escalation_max_level=3)
    clock = ManualClock(start=T0)
    _rm, alert, tag = await _setup(session, severity=Severity.CRITICAL)

    assert (
        await run_once(session, now=clock.advance(seconds=59), settings=settings)
    ).escalated == 0
    result = await run_once(session, now=clock.advance(seconds=1), settings=settings)
    assert result.escalated == 1
    assert (alert.escalation_level, alert.escalated_to) == (1, f"lead.{tag}")
    # The same moment again escalates nothing more: the deadline moved with the level.
    assert (await run_once(session, now=clock.now(), settings=settings)).escalated == 0

    await run_once(session, now=clock.advance(seconds=60), settings=settings)
    assert (alert.escalation_level, alert.escalated_to) == (2, f"head.{tag}")
    notified = await session.scalars(
        select(Notification.recipient).where(
            Notification.alert_id == alert.id, Notification.event == "alert.escalated"
        )
    )
    assert set(notified.all()) == {f"lead.{tag}", f"head.{tag}"}

    # The team lead, copied at escalation, can see and acknowledge it; escalation stops.
    lead = Principal(id=f"lead.{tag}", role=Role.TEAM_LEAD)
    await service.acknowledge(
        session, principal=lead, alert_id=alert.id, note=None, now=clock.now()
    )
    result = await run_once(session, now=clock.advance(seconds=3600), settings=settings)
    assert result.escalated == 0 and alert.escalation_level == 2


async def test_warning_waits_for_its_own_sla_and_snooze_reopens(session: AsyncSession) -> None:
    settings = AlertsSettings(sla_seconds=SLA)
    clock = ManualClock(start=T0)
    rm, alert, _ = await _setup(session, severity=Severity.WARNING)
    assert (
        await run_once(session, now=clock.advance(seconds=120), settings=settings)
    ).escalated == 0

    me = Principal(id=rm, role=Role.RELATIONSHIP_MANAGER)
    await service.snooze(
        session,
        principal=me,
        alert_id=alert.id,
        until=clock.now() + timedelta(seconds=900),
        note=None,
        now=clock.now(),
    )
    assert (
        await run_once(session, now=clock.advance(seconds=800), settings=settings)
    ).escalated == 0
    assert alert.status == "snoozed"
    result = await run_once(session, now=clock.advance(seconds=100), settings=settings)
    assert result.reopened == 1 and alert.status == "open"
    assert alert.escalate_at == clock.now() + timedelta(seconds=600)
