"""Email through the outbox to a real local SMTP server, and the low-severity digest (manual clock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.assignments.service import apply_assigned
from churnwatch_alerts.clock import ManualClock
from churnwatch_alerts.models import DeliveryAttempt, Manager, Notification, Role
from churnwatch_alerts.notifications.channels import default_channels
from churnwatch_alerts.notifications.digest import DigestScheduler, closed_periods, digest_key
from churnwatch_alerts.notifications.dispatcher import Dispatcher
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.alerts import Alert, Severity
from tests.alerts.conftest import T0
from tests.alerts.factories import make_alert, make_assigned
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

HOUR = 3600


class Sink:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = message_from_bytes(envelope.content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


class SmtpServer:
    """A real SMTP server on a loopback port; can be started late to play 'down, then up'."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sink = Sink()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    try:
        yield server
    finally:
        server.stop()


def settings_for(smtp: SmtpServer) -> AlertsSettings:
    return AlertsSettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_sender="churnwatch@bank.test",
        inbox_url="https://churnwatch.bank.test/inbox",
        retry_base_seconds=30,
        retry_jitter=0,
        digest_period_seconds=HOUR,
        digest_lookback_periods=3,
    )


async def add_manager(
    db: async_sessionmaker[AsyncSession], *, manager_id: str, customers: list[str], digest: bool
) -> None:
    async with db() as session, session.begin():
        session.add(
            Manager(
                id=manager_id,
                role=Role.RELATIONSHIP_MANAGER.value,
                email=f"{manager_id}@bank.test",
                channels=["email"],
                low_severity_digest=digest,
            )
        )
        await session.flush()
        for customer in customers:
            event = make_assigned(customer_id=customer, at=T0, manager_id=manager_id)
            await apply_assigned(
                session,
                customer_id=customer,
                payload=event.payload,
                occurred_at=T0,
                actor="test",
                now=T0,
            )


async def store(db: async_sessionmaker[AsyncSession], alert: Alert, *, clock: ManualClock) -> None:
    async with db() as session, session.begin():
        await store_alert(session, alert=alert, now=clock.now(), sla_seconds={})


async def test_email_is_delivered_through_the_outbox_after_smtp_comes_up(
    db: async_sessionmaker[AsyncSession],
    smtp: SmtpServer,
) -> None:
    await add_manager(db, manager_id="rm.mail", customers=["C-mail"], digest=True)
    clock = ManualClock(start=T0)
    # A careless rule title with a name and an amount must not reach the mail subject.
    alert = make_alert(customer_id="C-mail", at=T0, severity=Severity.CRITICAL, priority=88)
    alert = alert.model_copy(update={"title": "Anna Lindqvist moved 250000.00 to another bank"})
    await store(db, alert, clock=clock)
    settings = settings_for(smtp)
    dispatcher = Dispatcher(
        settings=settings, sessionmaker=db, clock=clock, channels=default_channels(settings)
    )
    try:
        assert await dispatcher.dispatch_once() == 1  # SMTP server down: refused, retried later
        assert smtp.sink.messages == []
        smtp.start()
        clock.advance(seconds=29)
        assert await dispatcher.dispatch_once() == 0  # still backing off
        clock.advance(seconds=1)
        assert await dispatcher.dispatch_once() == 1
        assert await dispatcher.dispatch_once() == 0
    finally:
        await dispatcher.close()

    [(recipients, message)] = smtp.sink.messages
    assert recipients == ["rm.mail@bank.test"] and message["To"] == "rm.mail@bank.test"
    assert message["From"] == "churnwatch@bank.test"
    assert message["Subject"] == "[ChurnWatch] New CRITICAL alert: account flow (priority 88)"
    assert "Anna" not in message["Subject"] and "250000" not in message["Subject"]
    text = message.get_content()
    assert alert.alert_id in text and "C-mail" in text
    assert "https://churnwatch.bank.test/inbox" in text
    async with db() as session:
        [mail] = (
            await session.scalars(select(Notification).where(Notification.channel == "email"))
        ).all()
        log = (
            await session.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.notification_id == mail.id)
                .order_by(DeliveryAttempt.attempt)
            )
        ).all()
    assert mail.status == "delivered" and [a.ok for a in log] == [False, True]


async def test_low_severity_alerts_arrive_in_one_digest_per_manager_and_period(
    db: async_sessionmaker[AsyncSession],
    smtp: SmtpServer,
) -> None:
    await add_manager(db, manager_id="rm.digest", customers=["C-d1", "C-d2"], digest=True)
    await add_manager(db, manager_id="rm.each", customers=["C-e1"], digest=False)
    clock = ManualClock(start=T0 + timedelta(minutes=10))
    watch = make_alert(
        customer_id="C-d1", at=clock.now(), severity=Severity.WATCH, priority=30, condition_key="w1"
    )
    info = make_alert(
        customer_id="C-d2", at=clock.now(), severity=Severity.INFO, priority=10, condition_key="i1"
    )
    critical = make_alert(
        customer_id="C-d1",
        at=clock.now(),
        severity=Severity.CRITICAL,
        priority=90,
        condition_key="c1",
    )
    other_watch = make_alert(
        customer_id="C-e1", at=clock.now(), severity=Severity.WATCH, priority=30, condition_key="w2"
    )
    for alert in (watch, info, critical, other_watch):
        await store(db, alert, clock=clock)

    settings = settings_for(smtp)
    smtp.start()
    dispatcher = Dispatcher(
        settings=settings, sessionmaker=db, clock=clock, channels=default_channels(settings)
    )
    digests = DigestScheduler(settings=settings, sessionmaker=db, clock=clock)
    try:
        # One by one: the critical alert, and the watch alert of the manager without a digest.
        assert await dispatcher.dispatch_once() == 2
        assert await digests.run_once() == 0  # the period has not closed yet
        clock.advance(seconds=HOUR)  # 10:10, the 09:00-10:00 period is closed
        assert await digests.run_once() == 1
        restarted = DigestScheduler(settings=settings, sessionmaker=db, clock=clock)
        assert await restarted.run_once() == 0  # keyed by manager+period: never written twice
        assert await dispatcher.dispatch_once() == 1
        # The next period gathers only what came in during it.
        later = make_alert(
            customer_id="C-d2",
            at=clock.now(),
            severity=Severity.WATCH,
            priority=40,
            condition_key="w3",
        )
        await store(db, later, clock=clock)
        clock.advance(seconds=HOUR)
        assert await restarted.run_once() == 1
        assert await dispatcher.dispatch_once() == 1
        assert await digests.run_once() == 0 and await dispatcher.dispatch_once() == 0
    finally:
        await dispatcher.close()

    by_subject = {m["Subject"]: (rcpt, m) for rcpt, m in smtp.sink.messages}
    assert len(smtp.sink.messages) == 4
    single = {s for s in by_subject if "Digest" not in s}
    assert single == {
        "[ChurnWatch] New CRITICAL alert: account flow (priority 90)",
        "[ChurnWatch] New WATCH alert: account flow (priority 30)",
    }
    assert by_subject["[ChurnWatch] New WATCH alert: account flow (priority 30)"][0] == [
        "rm.each@bank.test"
    ]
    first = by_subject["[ChurnWatch] Digest: 2 low-severity alerts (2025-03-01)"]
    second = by_subject["[ChurnWatch] Digest: 1 low-severity alert (2025-03-01)"]
    assert first[0] == second[0] == ["rm.digest@bank.test"]
    first_text, second_text = first[1].get_content(), second[1].get_content()
    assert watch.alert_id in first_text and info.alert_id in first_text
    assert critical.alert_id not in first_text and later.alert_id not in first_text
    assert later.alert_id in second_text and watch.alert_id not in second_text

    [period] = closed_periods(now=T0 + timedelta(minutes=70), period_seconds=HOUR, lookback=1)
    async with db() as session:
        keys = set(
            (
                await session.scalars(
                    select(Notification.dedupe_key).where(Notification.event == "digest")
                )
            ).all()
        )
    assert digest_key(manager_id="rm.digest", period=period, channel="email") in keys
    assert len(keys) == 2
