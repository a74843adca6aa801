"""SLA deadlines in business time of the customer's branch, through intake and escalation
(issue 18 item 6; real PostgreSQL, the clock moved by the test)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.alerts import service
from churnwatch_alerts.alerts.service import store_alerts
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.escalation.service import run_once
from churnwatch_alerts.models import AlertRecord, Manager, Role
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.alerts import Severity
from tests.alerts.factories import make_alert
from tests.alerts.seed import team_customer

pytestmark = pytest.mark.integration

SLA = {Severity.CRITICAL: 15 * 60, Severity.WARNING: 4 * 3600}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _settings(tmp_path: Path, branch: str) -> AlertsSettings:
    path = tmp_path / "calendar.yaml"
    path.write_text(
        f"""
version: "t1"
default:
  time_zone: Europe/Prague
  hours: {{mon-fri: "08:00-17:00"}}
  yearly_holidays: ["12-25"]
branches:
  {branch}:
    time_zone: America/New_York
"""
    )
    return AlertsSettings(sla_seconds=SLA, business_calendar_file=path, escalation_max_level=3)


async def _store(
    session: AsyncSession, settings: AlertsSettings, customer: str, now: datetime, **kw
) -> AlertRecord:
    alert = make_alert(customer_id=customer, at=now, **kw)
    await store_alerts(
        session, alerts=[alert], now=now, sla_seconds=SLA, calendars=settings.calendars
    )
    stored = await session.get(AlertRecord, alert.alert_id)
    assert stored is not None
    return stored


async def test_branch_calendar_times_intake_and_every_escalation(
    session: AsyncSession, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    branch = f"BR-NY-{tag}"
    settings = _settings(tmp_path, branch)
    friday = _utc("2026-03-06T16:55:00-05:00")  # Friday, 5 minutes before New York closes
    customer = await team_customer(session, tag=tag, branch=branch, at=friday)
    alert = await _store(session, settings, customer, friday, severity=Severity.CRITICAL)
    # 5 min on Friday, 10 on Monday 9 March (New York on EDT since the 8th: 08:00 = 12:00 UTC)
    monday = datetime(2026, 3, 9, 12, 10, tzinfo=UTC)
    assert alert.escalate_at == monday

    saturday = _utc("2026-03-07T12:00:00-05:00")
    assert (await run_once(session, now=saturday, settings=settings)).escalated == 0
    before = monday - timedelta(seconds=1)
    assert (await run_once(session, now=before, settings=settings)).escalated == 0
    assert (await run_once(session, now=monday, settings=settings)).escalated == 1
    assert (alert.escalation_level, alert.escalated_to) == (1, f"lead.{tag}")
    assert alert.escalate_at == monday + timedelta(minutes=15)  # the next level, within hours

    evening = _utc("2026-03-09T16:50:00-04:00")  # a pass late in the day: the head's SLA
    assert (await run_once(session, now=evening, settings=settings)).escalated == 1
    assert (alert.escalation_level, alert.escalated_to) == (2, f"head.{tag}")
    assert alert.escalate_at == _utc("2026-03-10T08:05:00-04:00")  # 10 min today, 5 tomorrow


async def test_a_customer_without_a_calendar_branch_uses_the_default(
    session: AsyncSession, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    settings = _settings(tmp_path, f"BR-NY-{tag}")
    christmas_eve = _utc("2026-12-24T16:30:00+01:00")  # Thursday, Prague; 25th a yearly holiday
    customer = await team_customer(session, tag=tag, branch=f"BR-PRG-{tag}", at=christmas_eve)
    alert = await _store(session, settings, customer, christmas_eve, severity=Severity.WARNING)
    # 30 min on the 24th, the 25th closed, the weekend closed: 3.5 h on Monday the 28th
    assert alert.escalate_at == _utc("2026-12-28T11:30:00+01:00")


async def test_an_unassigned_customer_takes_the_alerts_branch_and_snooze_reopens_in_business_time(
    session: AsyncSession, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    branch = f"BR-NY-{tag}"
    settings = _settings(tmp_path, branch)
    session.add(Manager(id=f"head.{tag}", role=Role.BRANCH_HEAD.value, branch_id=branch))
    start = _utc("2026-03-04T10:00:00-05:00")  # Wednesday, New York
    alert = await _store(
        session, settings, f"C-{tag}", start, severity=Severity.CRITICAL, branch_id=branch
    )
    assert alert.assigned_to == f"branch:{branch}"
    assert alert.escalate_at == start + timedelta(minutes=15)
    head = Principal(id=f"head.{tag}", role=Role.BRANCH_HEAD, branch_id=branch)
    await service.snooze(
        session,
        principal=head,
        alert_id=alert.id,
        until=_utc("2026-03-07T09:00:00-05:00"),  # Saturday
        note=None,
        now=start,
    )
    saturday = _utc("2026-03-07T09:00:01-05:00")
    assert (await run_once(session, now=saturday, settings=settings)).reopened == 1
    assert alert.escalate_at == _utc("2026-03-09T08:15:00-04:00")  # Monday, after the DST change
