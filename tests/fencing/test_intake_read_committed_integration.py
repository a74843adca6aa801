"""The alerts service's intake never stores what an aborted (fenced) monitor transaction wrote.

On the real broker and PostgreSQL: a transactional producer, as a monitor partition's writer,
writes an alert and a snapshot for one customer and aborts (what the broker does to a fenced
zombie's transaction), then writes an alert and a snapshot for another customer and commits. The
intake (both consumers) stores the committed pair and nothing of the aborted one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from churnwatch_alerts.clock import SystemClock
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.intake.consumer import Intake
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import AlertRecord
from churnwatch_alerts.models.customer_state import CustomerStateRecord
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared import topics
from churnwatch_shared.events import parse_event
from churnwatch_shared.settings import CommonSettings
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset
from tests.alerts.factories import make_alert
from tests.state_monitor.events import at, snapshot, wire

pytestmark = pytest.mark.integration


def _snapshot_bytes(customer: str) -> bytes:
    """The monitor's own snapshot record after one balance event."""
    monitor = Monitor(ruleset=load_ruleset(None))
    event = parse_event(wire(snapshot(f"{customer}-bal", customer, at(0), demand="1000.00")))
    outcome = monitor.process(None, event, now=datetime.now(UTC), offset=0)
    assert outcome.snapshot is not None
    return outcome.snapshot


async def test_intake_skips_an_aborted_transaction(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_database: Callable[[], str],
) -> None:
    namespace = await make_namespace()
    settings = AlertsSettings(
        common=CommonSettings(kafka_bootstrap=kafka_bootstrap, topic_namespace=namespace),
        database_url=make_database(),
        group_id=f"read-committed-{uuid.uuid4().hex[:6]}",
    )
    engine = create_engine(url=settings.database_url)
    await upgrade(engine=engine)
    sessionmaker = create_sessionmaker(engine=engine)
    aborted = make_alert(customer_id="C-zombie", at=datetime.now(UTC), branch_id="BR9")
    kept = make_alert(customer_id="C-owner", at=datetime.now(UTC), branch_id="BR9")
    writer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        transactional_id=f"{namespace}-state-monitor-0",
        acks="all",
        enable_idempotence=True,
    )
    await writer.start()
    try:
        for alert, commit in ((aborted, False), (kept, True)):
            key = alert.customer_id.encode()
            await writer.begin_transaction()
            sent = [
                await writer.send(
                    topics.ALERTS.name(namespace), key=key, value=alert.model_dump_json().encode()
                ),
                await writer.send(
                    topics.CUSTOMER_STATE.name(namespace),
                    key=key,
                    value=_snapshot_bytes(alert.customer_id),
                ),
            ]
            await asyncio.gather(*sent)  # on the broker, visible to read_uncommitted readers
            if commit:
                await writer.commit_transaction()
            else:
                await writer.abort_transaction()
    finally:
        await writer.stop()

    intake = Intake(settings=settings, sessionmaker=sessionmaker, clock=SystemClock())
    await intake.start()
    tasks = [asyncio.create_task(intake.alerts.run()), asyncio.create_task(intake.context.run())]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            async with sessionmaker() as session:
                alert_ids = set(await session.scalars(select(AlertRecord.id)))
                states = set(await session.scalars(select(CustomerStateRecord.customer_id)))
            if kept.alert_id in alert_ids and "C-owner" in states:
                break
            await asyncio.sleep(0.3)
        await asyncio.sleep(2.0)  # anything else the intake would store arrives meanwhile
        async with sessionmaker() as session:
            alert_ids = set(await session.scalars(select(AlertRecord.id)))
            states = set(await session.scalars(select(CustomerStateRecord.customer_id)))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await intake.stop()
        await engine.dispose()
    assert alert_ids == {kept.alert_id}
    assert states == {"C-owner"}
