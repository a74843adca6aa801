"""Fault suite: one hanging webhook endpoint must not delay another manager's notifications.

Real PostgreSQL, the real dispatcher loop with the system clock, and two real HTTP receivers on
local sockets: one never answers, the other answers at once. The hanging manager's notifications
are written first, so a dispatcher that sends one after another reaches the healthy manager only
after every hanging send has timed out (the issue measured 170 s on average).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.clock import SystemClock
from churnwatch_alerts.models import DeliveryAttempt, Notification
from churnwatch_alerts.notifications.channels import default_channels
from churnwatch_alerts.notifications.dispatcher import Dispatcher
from churnwatch_alerts.settings import AlertsSettings
from tests.alerts.webhook_receivers import WebhookReceiver, add_webhook_manager, store_alerts
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

HANGING_ALERTS = 20
HEALTHY_ALERTS = 10
TIMEOUT = 2.0
# Generous for a loaded 2-core machine; sending one after another needs >= 20 x 2 s = 40 s.
PROMPT = 12.0


async def test_hanging_endpoint_does_not_delay_a_healthy_one(
    db: async_sessionmaker[AsyncSession],
) -> None:
    hanging = WebhookReceiver(port=free_port(), hang=True)
    healthy = WebhookReceiver(port=free_port())
    await hanging.start()
    await healthy.start()
    await add_webhook_manager(
        db, manager_id="rm.hang", url=f"http://127.0.0.1:{hanging.port}/h", customers=["C-hang"]
    )
    await add_webhook_manager(
        db, manager_id="rm.ok", url=f"http://127.0.0.1:{healthy.port}/h", customers=["C-ok"]
    )
    clock = SystemClock()
    settings = AlertsSettings(
        webhook_timeout_seconds=TIMEOUT,
        notify_attempt_deadline_seconds=TIMEOUT + 1,
        notify_lease_seconds=30,
        notify_concurrency=8,
        notify_endpoint_concurrency=2,
        retry_base_seconds=3,
        retry_max_delay_seconds=6,
        retry_jitter=0.0,
        retry_give_up_after_seconds=3600,
        outbox_interval_seconds=0.2,
    )
    await store_alerts(db, customer_id="C-hang", count=HANGING_ALERTS, now_fn=clock.now, tag="h")
    healthy_ids = await store_alerts(
        db, customer_id="C-ok", count=HEALTHY_ALERTS, now_fn=clock.now, tag="o"
    )
    dispatcher = Dispatcher(
        settings=settings, sessionmaker=db, clock=clock, channels=default_channels(settings)
    )
    started = time.monotonic()
    running = asyncio.create_task(dispatcher.run())
    try:
        deadline = started + 60
        while len(healthy.received) < HEALTHY_ALERTS and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        latencies = [d.at - started for d in healthy.received]
        assert len(latencies) == HEALTHY_ALERTS, f"healthy receiver got {len(latencies)}"
        assert max(latencies) < PROMPT, f"healthy notifications took up to {max(latencies):.1f} s"

        # The hanging endpoint only ever held its own slots, and its sends time out and retry.
        retried = time.monotonic() + 60
        while time.monotonic() < retried:
            async with db() as session:
                attempts = (
                    await session.scalars(
                        select(Notification.attempts).where(Notification.recipient == "rm.hang")
                    )
                ).all()
            if max(attempts) >= 2:
                break
            await asyncio.sleep(0.3)
        assert max(attempts) >= 2, "no hanging notification was retried"
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await dispatcher.close()
        await hanging.stop()
        await healthy.stop()

    assert len(healthy_ids) == HEALTHY_ALERTS
    async with db() as session:
        ok = (
            await session.scalars(select(Notification).where(Notification.recipient == "rm.ok"))
        ).all()
        hang = (
            await session.scalars(
                select(Notification).where(
                    Notification.recipient == "rm.hang", Notification.channel == "webhook"
                )
            )
        ).all()
        failures = (
            await session.scalars(
                select(DeliveryAttempt).where(
                    DeliveryAttempt.notification_id.in_([n.id for n in hang]),
                    DeliveryAttempt.ok.is_(False),
                )
            )
        ).all()
    assert {n.status for n in ok if n.channel == "webhook"} == {"delivered"}
    # Never dead-lettered for hanging: still pending, each failure logged as a timeout.
    assert {n.status for n in hang} == {"pending"}
    assert failures and all("Timeout" in (f.error or "") for f in failures)
    # The hanging endpoint never held more than its own two slots.
    assert hanging.max_open_requests <= 2
