"""Outbox dispatch on real PostgreSQL: recording channel, signed webhook down then up, dead letter."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.assignments.service import apply_assigned
from churnwatch_alerts.clock import ManualClock
from churnwatch_alerts.models import DeliveryAttempt, Manager, Notification, Role
from churnwatch_alerts.notifications.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InboxChannel,
    WebhookChannel,
    sign,
)
from churnwatch_alerts.notifications.dispatcher import Dispatcher
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared.alerts import Severity
from tests.alerts.conftest import T0
from tests.alerts.factories import make_alert, make_assigned
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

SECRET = "webhook-test-secret"


class RecordingChannel:
    """A channel that remembers what it was asked to deliver."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, *, notification: Notification, manager: Manager | None) -> int | None:
        self.sent.append((notification.recipient, notification.payload["alert_id"]))
        return None

    async def close(self) -> None:
        return None


@dataclass
class Receiver:
    """A tiny HTTP webhook receiver on a real socket; answers ``status``."""

    port: int
    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")[1:]
        headers = {
            k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.received.append((headers, body))
        writer.write(
            f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def _alert_for(
    sessionmaker: async_sessionmaker[AsyncSession], *, webhook_url: str, channels: list[str]
) -> str:
    async with sessionmaker() as session, session.begin():
        session.add(
            Manager(
                id="rm.hook",
                role=Role.RELATIONSHIP_MANAGER.value,
                webhook_url=webhook_url,
                channels=channels,
            )
        )
        event = make_assigned(customer_id="C-hook", at=T0, manager_id="rm.hook")
        await apply_assigned(
            session,
            customer_id="C-hook",
            payload=event.payload,
            occurred_at=T0,
            actor="test",
            now=T0,
        )
        alert = make_alert(customer_id="C-hook", at=T0, severity=Severity.CRITICAL)
        await store_alert(session, alert=alert, now=T0, sla_seconds={})
        # A replayed alert writes no second notification.
        await store_alert(session, alert=alert, now=T0, sla_seconds={})
        return alert.alert_id


async def test_recording_channel_gets_each_notification_once(
    db: async_sessionmaker[AsyncSession],
) -> None:
    alert_id = await _alert_for(db, webhook_url="http://127.0.0.1:9/none", channels=["recording"])
    recording = RecordingChannel()
    dispatcher = Dispatcher(
        settings=AlertsSettings(),
        sessionmaker=db,
        clock=ManualClock(start=T0),
        channels={"inbox": InboxChannel(), "recording": recording},
    )
    assert await dispatcher.dispatch_once() == 1
    assert await dispatcher.dispatch_once() == 0
    assert recording.sent == [("rm.hook", alert_id)]
    async with db() as session:
        inbox = (
            await session.scalars(select(Notification).where(Notification.channel == "inbox"))
        ).all()
    assert [(n.recipient, n.status) for n in inbox] == [("rm.hook", "delivered")]


async def test_webhook_down_then_up_is_retried_signed_and_logged(
    db: async_sessionmaker[AsyncSession],
) -> None:
    port = free_port()
    alert_id = await _alert_for(
        db, webhook_url=f"http://127.0.0.1:{port}/hook", channels=["webhook"]
    )
    clock = ManualClock(start=T0)
    settings = AlertsSettings(retry_base_seconds=10, retry_jitter=0, webhook_max_attempts=4)
    webhook = WebhookChannel(secret=SECRET, timeout=2.0)
    dispatcher = Dispatcher(
        settings=settings,
        sessionmaker=db,
        clock=clock,
        channels={"inbox": InboxChannel(), "webhook": webhook},
    )
    receiver = Receiver(port=port)
    try:
        assert await dispatcher.dispatch_once() == 1  # receiver down: connection refused
        assert await dispatcher.dispatch_once() == 0  # backing off
        clock.advance(seconds=9)
        assert await dispatcher.dispatch_once() == 0
        await receiver.start()
        clock.advance(seconds=1)
        assert await dispatcher.dispatch_once() == 1
    finally:
        await receiver.stop()
        await webhook.close()

    [(headers, body)] = receiver.received
    assert json.loads(body)["alert_id"] == alert_id
    expected = sign(secret=SECRET, timestamp=headers[TIMESTAMP_HEADER.lower()], body=body)
    assert headers[SIGNATURE_HEADER.lower()] == expected
    async with db() as session:
        [hook] = (
            await session.scalars(select(Notification).where(Notification.channel == "webhook"))
        ).all()
        log = (
            await session.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.notification_id == hook.id)
                .order_by(DeliveryAttempt.attempt)
            )
        ).all()
    assert hook.status == "delivered" and hook.attempts == 2
    assert [a.ok for a in log] == [False, True]


async def test_webhook_failing_every_attempt_is_dead_lettered(
    db: async_sessionmaker[AsyncSession],
) -> None:
    port = free_port()
    await _alert_for(db, webhook_url=f"http://127.0.0.1:{port}/hook", channels=["webhook"])
    clock = ManualClock(start=T0)
    settings = AlertsSettings(retry_base_seconds=1, retry_jitter=0, webhook_max_attempts=3)
    webhook = WebhookChannel(secret=SECRET, timeout=2.0)
    dispatcher = Dispatcher(
        settings=settings,
        sessionmaker=db,
        clock=clock,
        channels={"inbox": InboxChannel(), "webhook": webhook},
    )
    receiver = Receiver(port=port, status=503)
    await receiver.start()
    try:
        for _ in range(5):
            await dispatcher.dispatch_once()
            clock.advance(seconds=60)
    finally:
        await receiver.stop()
        await webhook.close()
    assert len(receiver.received) == 3
    async with db() as session:
        [hook] = (
            await session.scalars(select(Notification).where(Notification.channel == "webhook"))
        ).all()
    assert hook.status == "dead" and hook.attempts == 3 and "503" in (hook.last_error or "")
