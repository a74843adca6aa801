"""Webhook outages: retried for hours with jitter and a cap, then dead-lettered, then redriven.

Real PostgreSQL, real HTTP receivers on local sockets, the real dispatcher; the API in-process
(ASGI) and the CLI as a real subprocess.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.clock import ManualClock, SystemClock
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import AuditEntry, Manager, Notification, Role
from churnwatch_alerts.notifications.channels import default_channels
from churnwatch_alerts.notifications.dispatcher import Dispatcher
from churnwatch_alerts.settings import AlertsSettings
from tests.alerts.conftest import T0, started_app
from tests.alerts.webhook_receivers import WebhookReceiver, add_webhook_manager, store_alerts
from tests.support.infra import REPO
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

HOUR = 3600.0


async def _webhook(db: async_sessionmaker[AsyncSession]) -> Notification:
    async with db() as session:
        return (
            await session.scalars(select(Notification).where(Notification.channel == "webhook"))
        ).one()


async def test_outage_longer_than_the_old_window_is_delivered_when_the_receiver_returns(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """Down 20 s (the old schedule gave up after 1+2+4+8 = 15 s), then up: delivered."""
    port = free_port()
    await add_webhook_manager(
        db, manager_id="rm.out", url=f"http://127.0.0.1:{port}/h", customers=["C-out"]
    )
    clock = SystemClock()
    settings = AlertsSettings(
        retry_base_seconds=1,
        retry_factor=2,
        retry_max_delay_seconds=4,
        retry_jitter=0.25,
        retry_give_up_after_seconds=300,
        outbox_interval_seconds=0.2,
        webhook_timeout_seconds=2,
    )
    [alert_id] = await store_alerts(db, customer_id="C-out", count=1, now_fn=clock.now)
    dispatcher = Dispatcher(
        settings=settings, sessionmaker=db, clock=clock, channels=default_channels(settings)
    )
    receiver = WebhookReceiver(port=port)
    running = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.sleep(20)
        assert (await _webhook(db)).status == "pending"
        await receiver.start()
        deadline = time.monotonic() + 20
        while not receiver.received and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await dispatcher.close()
        await receiver.stop()
    hook = await _webhook(db)
    assert receiver.ids() == [str(hook.id)], f"{alert_id}: {hook.status} {hook.last_error}"
    assert hook.status == "delivered" and hook.attempts >= 5


async def test_default_schedule_retries_for_hours_with_jitter_and_a_cap_then_dead_letters(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """Receiver refusing for two days, on the default schedule, moving a manual clock."""
    port = free_port()  # nothing listens: connection refused on every attempt
    await add_webhook_manager(
        db, manager_id="rm.long", url=f"http://127.0.0.1:{port}/h", customers=["C-long"], now=T0
    )
    clock = ManualClock(start=T0)
    await store_alerts(db, customer_id="C-long", count=1, now_fn=clock.now)
    settings = AlertsSettings()
    dispatcher = Dispatcher(
        settings=settings, sessionmaker=db, clock=clock, channels=default_channels(settings)
    )
    delays: list[float] = []
    try:
        for _ in range(500):
            assert await dispatcher.dispatch_once() == 1
            hook = await _webhook(db)
            if hook.status != "pending":
                break
            delay = (hook.next_attempt_at - clock.now()).total_seconds()
            delays.append(delay)
            clock.advance(seconds=delay)
    finally:
        await dispatcher.close()
    span = (clock.now() - T0).total_seconds()
    assert hook.status == "dead", f"still {hook.status} after {span / HOUR:.1f} h"
    assert span >= 24 * HOUR, f"gave up after {span:.0f} s"
    cap = settings.retry_max_delay_seconds
    give_up = settings.retry_give_up_after_seconds
    assert give_up - cap <= span <= give_up
    assert delays[0] <= settings.retry_base_seconds and max(delays) <= cap
    assert delays[1] > delays[0] and delays[4] > delays[1]  # grows
    capped = [d for d in delays if d > cap * (1 - settings.retry_jitter) - 1]
    assert len(capped) >= 20 and len(set(capped)) > 10  # capped, and jittered around the cap


@pytest.fixture
async def app(make_database: Callable[[], str]) -> AsyncIterator[FastAPI]:
    async with started_app(database_url=make_database(), webhook_timeout_seconds=2) as application:
        yield application


def _auth(app: FastAPI, manager_id: str, role: Role) -> dict[str, str]:
    token = mint_token(
        secret=app.state.settings.jwt_secret, sub=manager_id, role=role, now=T0, ttl_seconds=600
    )
    return {"Authorization": f"Bearer {token}"}


async def _dead_letter(db: async_sessionmaker[AsyncSession], *, port: int) -> Notification:
    """A webhook answered 410 Gone: permanent, dead-lettered at the first attempt."""
    await add_webhook_manager(
        db,
        manager_id="rm.a",
        url=f"http://127.0.0.1:{port}/h",
        customers=["C-a"],
        team_id="T-A",
        now=T0,
    )
    async with db() as session, session.begin():
        session.add(Manager(id="lead.a", role=Role.TEAM_LEAD.value, team_id="T-A"))
        session.add(Manager(id="lead.b", role=Role.TEAM_LEAD.value, team_id="T-B"))
        session.add(Manager(id="admin.x", role=Role.ADMIN.value))
    await store_alerts(db, customer_id="C-a", count=1, now_fn=lambda: T0)
    return await _webhook(db)


async def test_dead_letters_are_listed_and_redriven_through_the_api(app: FastAPI) -> None:
    db = app.state.sessionmaker
    receiver = WebhookReceiver(port=free_port(), status=410)
    await receiver.start()
    try:
        hook = await _dead_letter(db, port=receiver.port)
        assert await app.state.dispatcher.dispatch_once() == 1
        assert (await _webhook(db)).status == "dead"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            url = "/v1/notifications/dead-letters"
            assert (await client.get(url)).status_code == 401
            rm = await client.get(url, headers=_auth(app, "rm.a", Role.RELATIONSHIP_MANAGER))
            assert rm.status_code == 403 and "team lead" in rm.json()["detail"]
            other = await client.get(url, headers=_auth(app, "lead.b", Role.TEAM_LEAD))
            assert other.status_code == 200 and other.json()["total"] == 0
            listed = await client.get(url, headers=_auth(app, "lead.a", Role.TEAM_LEAD))
            assert listed.status_code == 200, listed.text
            [item] = listed.json()["items"]
            assert item["id"] == hook.id and item["recipient"] == "rm.a"
            assert item["channel"] == "webhook" and "410" in item["last_error"]
            bad = await client.get(url + "?limit=0", headers=_auth(app, "admin.x", Role.ADMIN))
            assert bad.status_code == 422
            huge = await client.post(
                f"{url}/99999999999999999999/redrive", headers=_auth(app, "admin.x", Role.ADMIN)
            )
            assert huge.status_code == 422
            hidden = await client.post(
                f"{url}/{hook.id}/redrive", headers=_auth(app, "lead.b", Role.TEAM_LEAD)
            )
            assert hidden.status_code == 404
            redriven = await client.post(
                f"{url}/{hook.id}/redrive", headers=_auth(app, "lead.a", Role.TEAM_LEAD)
            )
            assert redriven.status_code == 200, redriven.text
            assert redriven.json()["status"] == "pending"
            again = await client.post(
                f"{url}/{hook.id}/redrive", headers=_auth(app, "lead.a", Role.TEAM_LEAD)
            )
            assert again.status_code == 404  # no longer a dead letter
        receiver.status = 200
        assert await app.state.dispatcher.dispatch_once() == 1
    finally:
        await receiver.stop()
    assert receiver.ids() == [str(hook.id), str(hook.id)]  # the same delivery id both times
    assert (await _webhook(db)).status == "delivered"
    async with db() as session:
        audit = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action.like("notification.%"))
            )
        ).all()
    actions = {(a.actor, a.action) for a in audit}
    assert ("lead.a", "notification.redriven") in actions
    assert ("lead.a", "notification.dead_letters.listed") in actions


async def test_dead_letters_are_listed_and_redriven_through_the_cli(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    engine = create_engine(url=url)
    await upgrade(engine=engine)
    db = create_sessionmaker(engine=engine)
    receiver = WebhookReceiver(port=free_port(), status=410)
    await receiver.start()
    settings = AlertsSettings(database_url=url, webhook_timeout_seconds=2)
    dispatcher = Dispatcher(
        settings=settings,
        sessionmaker=db,
        clock=SystemClock(),  # the CLI redrives at the system time
        channels=default_channels(settings),
    )
    try:
        hook = await _dead_letter(db, port=receiver.port)
        assert await dispatcher.dispatch_once() == 1

        def cli(*args: str) -> list[dict[str, object]]:
            env = {**os.environ, "CHURNWATCH_ALERTS_DATABASE_URL": url}
            done = subprocess.run(
                [sys.executable, "-m", "churnwatch_alerts", "notifications", "dead-letters", *args],
                env=env,
                cwd=REPO,
                check=False,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

        [listed] = await asyncio.to_thread(cli, "list")
        assert listed["id"] == hook.id and listed["recipient"] == "rm.a"
        assert await asyncio.to_thread(cli, "list", "--recipient", "rm.nobody") == []
        [summary] = await asyncio.to_thread(cli, "redrive", "--id", str(hook.id))
        assert summary == {"redriven": [hook.id]}
        assert await asyncio.to_thread(cli, "list") == []
        receiver.status = 200
        assert await dispatcher.dispatch_once() == 1
        assert (await _webhook(db)).status == "delivered"
        async with db() as session:
            [entry] = (
                await session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "notification.redriven")
                )
            ).all()
        assert entry.actor.startswith("cli:") and entry.detail["notification_id"] == hook.id
    finally:
        await receiver.stop()
        await dispatcher.close()
        await engine.dispose()
