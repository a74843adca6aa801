"""Fault suite: kill -9 of the alerts service while it sends webhooks, restart, count deliveries.

The service runs as a real process on the real broker and a fresh PostgreSQL database; the
receiver is a real HTTP server that answers after 0.3 s, so several sends are in flight when the
process is killed. Expected: every notification arrives (at least once, same delivery id on a
repeat), and only the sends in flight at the kill are repeated (at most NOTIFY_CONCURRENCY), not
the batch a crashed transaction would have held.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from churnwatch_alerts.clock import SystemClock
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import Notification
from tests.alerts.running import service_env
from tests.alerts.webhook_receivers import WebhookReceiver, add_webhook_manager, store_alerts
from tests.support.processes import ServiceProcess, free_port

pytestmark = pytest.mark.integration

PER_MANAGER = 60
CONCURRENCY = 4


def _process(*, namespace: str, bootstrap: str, database_url: str) -> ServiceProcess:
    port = free_port()
    env = service_env(
        namespace=namespace, bootstrap=bootstrap, database_url=database_url, port=port
    )
    env |= {
        "CHURNWATCH_ALERTS_ESCALATION_ENABLED": "false",
        "CHURNWATCH_ALERTS_OUTBOX_INTERVAL_SECONDS": "0.2",
        "CHURNWATCH_ALERTS_NOTIFY_CONCURRENCY": str(CONCURRENCY),
        "CHURNWATCH_ALERTS_NOTIFY_ENDPOINT_CONCURRENCY": "2",
        "CHURNWATCH_ALERTS_WEBHOOK_TIMEOUT_SECONDS": "5",
        "CHURNWATCH_ALERTS_NOTIFY_ATTEMPT_DEADLINE_SECONDS": "6",
        "CHURNWATCH_ALERTS_NOTIFY_LEASE_SECONDS": "10",
    }
    return ServiceProcess(
        name="alerts-kill9",
        module="churnwatch_alerts",
        env=env,
        health_url=f"http://127.0.0.1:{port}/healthz",
    )


async def test_kill9_during_dispatch_loses_nothing_and_repeats_only_sends_in_flight(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_database: Callable[[], str],
) -> None:
    namespace = await make_namespace()
    database_url = make_database()
    engine = create_engine(url=database_url)
    await upgrade(engine=engine)
    db = create_sessionmaker(engine=engine)
    receiver = WebhookReceiver(port=free_port(), delay=0.3)
    await receiver.start()
    base = f"http://127.0.0.1:{receiver.port}"
    clock = SystemClock()
    first = second = None
    try:
        for n in (1, 2):  # two endpoints (URLs), so both per-endpoint slots and the total count
            await add_webhook_manager(
                db, manager_id=f"rm.k{n}", url=f"{base}/k{n}", customers=[f"C-k{n}"]
            )
            await store_alerts(
                db, customer_id=f"C-k{n}", count=PER_MANAGER, now_fn=clock.now, tag=f"k{n}-"
            )
        async with db() as session:
            expected = {
                str(i)
                for i in (
                    await session.scalars(
                        select(Notification.id).where(Notification.channel == "webhook")
                    )
                ).all()
            }
        assert len(expected) == 2 * PER_MANAGER

        first = _process(namespace=namespace, bootstrap=kafka_bootstrap, database_url=database_url)
        await asyncio.to_thread(first.start, timeout=60)
        deadline = time.monotonic() + 60
        while len(receiver.received) < 30 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(receiver.received) >= 30, first.tail()
        await asyncio.to_thread(first.kill)
        at_kill = len(receiver.received)

        second = _process(namespace=namespace, bootstrap=kafka_bootstrap, database_url=database_url)
        await asyncio.to_thread(second.start, timeout=60)
        deadline = time.monotonic() + 120
        while set(receiver.ids()) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a late repeat would still be counted
    finally:
        if second is not None:
            await asyncio.to_thread(second.stop)
        if first is not None:
            await asyncio.to_thread(first.kill)
        await receiver.stop()

    counts = Counter(receiver.ids())
    missing = expected - set(counts)
    repeated = {i: c for i, c in counts.items() if c > 1}
    assert not missing, f"{len(missing)} notifications never arrived"
    assert set(counts) == expected
    extra = sum(c - 1 for c in repeated.values())
    assert extra <= CONCURRENCY, (
        f"{extra} repeated sends after a kill at {at_kill} received; "
        f"only the {CONCURRENCY} in flight may repeat: {repeated}"
    )
    async with db() as session:
        statuses = Counter(
            (
                await session.scalars(
                    select(Notification.status).where(Notification.channel == "webhook")
                )
            ).all()
        )
    await engine.dispose()
    assert statuses == {"delivered": 2 * PER_MANAGER}
