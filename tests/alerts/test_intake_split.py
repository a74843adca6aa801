"""Alerts do not queue behind snapshots: separate consumers, bulk context, per-customer ordering."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.assignments.service import apply_assigned
from churnwatch_alerts.clock import ManualClock, SystemClock
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.intake.consumer import Intake
from churnwatch_alerts.intake.handlers import IntakeTopics, apply_context
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import AlertRecord, CustomerStateRecord, Manager, Notification, Role
from churnwatch_alerts.notifications.channels import InboxChannel
from churnwatch_alerts.notifications.dispatcher import Dispatcher
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared import topics
from churnwatch_shared.alerts import CustomerStateName
from churnwatch_shared.customer_state import CustomerStateSnapshot, StateLevel, StateView
from churnwatch_shared.events import encode_event
from churnwatch_shared.settings import CommonSettings
from tests.alerts.conftest import T0
from tests.alerts.factories import make_alert, make_assigned
from tests.alerts.test_notifications import RecordingChannel
from tests.support.kafka import produce

pytestmark = pytest.mark.integration

TOPICS = IntakeTopics(alerts="a", customer_state="s", events="e")


def _snapshot(customer_id: str, *, as_of: datetime, score: float) -> CustomerStateSnapshot:
    return CustomerStateSnapshot(
        customer_id=customer_id,
        as_of=as_of,
        churn_score=score,
        churn_level=StateLevel.WATCH,
        ruleset_version="test-1",
        events_applied=1,
        states={name: StateView(score=score) for name in CustomerStateName},
    )


def _record(topic: str, offset: int, snapshot: CustomerStateSnapshot) -> ConsumerRecord:
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=offset,
        timestamp=offset,
        timestamp_type=0,
        key=snapshot.customer_id.encode(),
        value=snapshot.model_dump_json().encode(),
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=[],
    )


async def _wait(predicate: Callable[[], Awaitable[bool]], *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("condition not reached")


async def test_context_keeps_newest_snapshot_per_customer(session: AsyncSession) -> None:
    customer = f"C-{uuid.uuid4().hex[:8]}"
    newest = _snapshot(customer, as_of=T0 + timedelta(minutes=2), score=30.0)
    batch = [
        _record("s", 0, _snapshot(customer, as_of=T0, score=10.0)),
        _record("s", 1, newest),
        _record("e", 0, _snapshot(customer, as_of=T0, score=99.0)),  # not an event: skipped
    ]
    result = await apply_context(session, records=batch, topics=TOPICS, now=T0)
    assert (result.snapshots, result.rejected) == (2, 0)
    row = await session.get(CustomerStateRecord, customer)
    assert row is not None and row.as_of == newest.as_of and row.snapshot["churn_score"] == 30.0

    # A replay of an older snapshot in a later poll does not win over the stored one.
    await apply_context(
        session,
        records=[_record("s", 0, _snapshot(customer, as_of=T0, score=10.0))],
        topics=TOPICS,
        now=T0,
    )
    await session.refresh(row)
    assert row.snapshot["churn_score"] == 30.0


async def test_alert_waits_for_a_concurrent_assignment_and_follows_it(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """An assignment in flight holds its customer: the alert's routing waits, then follows it."""
    customer = "C-race"
    assigning = db()
    await assigning.begin()
    event = make_assigned(customer_id=customer, at=T0, manager_id="rm.race")
    await apply_assigned(
        assigning, customer_id=customer, payload=event.payload, occurred_at=T0, actor="test", now=T0
    )

    async def store() -> bool:
        async with db() as session, session.begin():
            return await store_alert(
                session,
                alert=make_alert(customer_id=customer, at=T0, branch_id="BR1"),
                now=T0,
                sla_seconds={},
            )

    storing = asyncio.create_task(store())
    await asyncio.sleep(0.5)
    assert not storing.done(), "the alert must wait for the customer's lock"
    await assigning.commit()
    await assigning.close()
    assert await storing is True
    async with db() as session:
        stored = (await session.scalars(select(AlertRecord))).one()
    assert stored.assigned_to == "rm.race"


async def test_dispatcher_wakes_on_new_outbox_rows_before_its_poll(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session, session.begin():
        session.add(
            Manager(id="rm.wake", role=Role.RELATIONSHIP_MANAGER.value, channels=["recording"])
        )
        event = make_assigned(customer_id="C-wake", at=T0, manager_id="rm.wake")
        await apply_assigned(
            session,
            customer_id="C-wake",
            payload=event.payload,
            occurred_at=T0,
            actor="test",
            now=T0,
        )
    recording = RecordingChannel()
    dispatcher = Dispatcher(
        settings=AlertsSettings(outbox_interval_seconds=3600),
        sessionmaker=db,
        clock=ManualClock(start=T0),
        channels={"inbox": InboxChannel(), "recording": recording},
    )
    running = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.sleep(0.3)  # the first (empty) pass is done; the next poll is an hour away
        async with db() as session, session.begin():
            await store_alert(
                session, alert=make_alert(customer_id="C-wake", at=T0), now=T0, sla_seconds={}
            )
        dispatcher.wake()

        async def delivered() -> bool:
            return bool(recording.sent)

        await _wait(delivered, timeout=20)
        assert [r for r, _ in recording.sent] == ["rm.wake"]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_alert_is_stored_while_a_snapshot_backlog_is_pending(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_database: Callable[[], str],
) -> None:
    """5,000 snapshots ahead of an alert: the alerts consumer stores it, context not even run."""
    namespace = await make_namespace()
    settings = AlertsSettings(
        common=CommonSettings(kafka_bootstrap=kafka_bootstrap, topic_namespace=namespace),
        database_url=make_database(),
    )
    engine = create_engine(url=settings.database_url)
    await upgrade(engine=engine)
    sessionmaker = create_sessionmaker(engine=engine)
    now = datetime.now(UTC)
    snapshots = [
        _snapshot(f"C-bulk{i % 500}", as_of=now + timedelta(seconds=i), score=i % 100)
        for i in range(5000)
    ]
    await produce(
        bootstrap=kafka_bootstrap,
        topic=topics.CUSTOMER_STATE.name(namespace),
        records=[(s.customer_id.encode(), s.model_dump_json().encode()) for s in snapshots],
    )
    assigned = make_assigned(customer_id="C-bulk7", at=now, manager_id="rm.bulk")
    await produce(
        bootstrap=kafka_bootstrap,
        topic=topics.EVENTS.name(namespace),
        records=[(b"C-bulk7", encode_event(assigned))],
        headers=[("event_type", b"customer.assigned"), ("producer", b"test")],
    )
    alert = make_alert(customer_id="C-bulk7", at=now, branch_id="BR7")
    await produce(
        bootstrap=kafka_bootstrap,
        topic=topics.ALERTS.name(namespace),
        records=[(b"C-bulk7", alert.model_dump_json().encode())],
    )

    woken: list[bool] = []
    intake = Intake(
        settings=settings,
        sessionmaker=sessionmaker,
        clock=SystemClock(),
        on_alerts=lambda: woken.append(True),
    )
    await intake.start()
    tasks: list[asyncio.Task[None]] = []
    try:
        tasks.append(asyncio.create_task(intake.alerts.run()))

        async def alert_stored() -> bool:
            async with sessionmaker() as session:
                return await session.get(AlertRecord, alert.alert_id) is not None

        await _wait(alert_stored)
        async with sessionmaker() as session:
            states = await session.scalar(select(func.count()).select_from(CustomerStateRecord))
            stored = await session.get(AlertRecord, alert.alert_id)
            inbox = await session.scalar(select(func.count()).select_from(Notification))
        assert states == 0, "no snapshot was needed before the alert"
        assert stored is not None and stored.assigned_to == "branch:BR7" and inbox == 1
        assert woken == [True], "the dispatcher is woken after the alert batch commits"

        # The context consumer then catches up: newest snapshot per customer, and the
        # assignment that arrived "late" moves the alert to the relationship manager.
        tasks.append(asyncio.create_task(intake.context.run()))

        # caught up = the last customer's newest snapshot is in (all 500 customers having a row
        # is not enough: under load the assertion below raced the consumer's later batches)
        async def context_applied() -> bool:
            async with sessionmaker() as session:
                row = await session.get(AlertRecord, alert.alert_id)
                n = await session.scalar(select(func.count()).select_from(CustomerStateRecord))
                last = await session.get(CustomerStateRecord, "C-bulk499")
            newest = last is not None and last.as_of == snapshots[-1].as_of
            return row is not None and row.assigned_to == "rm.bulk" and n == 500 and newest

        await _wait(context_applied, timeout=60)
        async with sessionmaker() as session:
            last = await session.get(CustomerStateRecord, "C-bulk499")
        assert last is not None and last.as_of == snapshots[-1].as_of
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await intake.stop()
        await engine.dispose()


def test_consumers_use_separate_groups() -> None:
    settings = AlertsSettings(common=CommonSettings(topic_namespace="nsx"))
    assert settings.effective_group_id == "nsx-alerts"
    assert settings.effective_context_group_id == "nsx-alerts-context"
