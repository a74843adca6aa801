"""A crash after the database commit but before the offset commit repeats nothing (real broker)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from churnwatch_alerts.clock import SystemClock
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.intake.consumer import Intake, TopicIntake
from churnwatch_alerts.metrics import DUPLICATES
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import AlertRecord, Notification
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings
from tests.alerts.factories import make_alert
from tests.support.kafka import produce

pytestmark = pytest.mark.integration


async def _poll_and_apply(intake: TopicIntake, *, expect: int, timeout: float = 30.0) -> int:
    """Read until ``expect`` records arrived, apply them to the DB, and do NOT commit offsets."""
    seen = 0
    deadline = time.monotonic() + timeout
    while seen < expect and time.monotonic() < deadline:
        batch = await intake.consumer.getmany(timeout_ms=500)
        records = [r for rs in batch.values() for r in rs]
        if records:
            await intake._apply(records)
            seen += len(records)
    return seen


async def test_redelivered_batch_after_crash_is_idempotent(
    kafka_bootstrap: str,
    make_namespace: Callable[[], Awaitable[str]],
    make_database: Callable[[], str],
) -> None:
    namespace = await make_namespace()
    settings = AlertsSettings(
        common=CommonSettings(kafka_bootstrap=kafka_bootstrap, topic_namespace=namespace),
        database_url=make_database(),
        group_id=f"redelivery-{uuid.uuid4().hex[:6]}",
    )
    engine = create_engine(url=settings.database_url)
    await upgrade(engine=engine)
    sessionmaker = create_sessionmaker(engine=engine)
    alert = make_alert(customer_id="C-crash", at=datetime.now(UTC), branch_id="BR9")
    await produce(
        bootstrap=kafka_bootstrap,
        topic=topics.ALERTS.name(namespace),
        records=[(b"C-crash", alert.model_dump_json().encode())],
    )
    try:
        first = Intake(settings=settings, sessionmaker=sessionmaker, clock=SystemClock())
        await first.start()
        assert await _poll_and_apply(first.alerts, expect=1) == 1
        await first.stop()  # "crash": the DB has the alert, the group offset does not

        duplicates_before = DUPLICATES._value.get()
        second = Intake(settings=settings, sessionmaker=sessionmaker, clock=SystemClock())
        await second.start()
        task = asyncio.create_task(second.alerts.run())
        try:
            deadline = time.monotonic() + 30
            committed = None
            while time.monotonic() < deadline and not committed:
                await asyncio.sleep(0.3)
                tps = second.alerts.consumer.assignment()
                offsets = [await second.alerts.consumer.committed(tp) for tp in tps]
                committed = sum(o or 0 for o in offsets)
            assert committed == 1, "the replayed record was re-read and its offset committed"
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await second.stop()

        async with sessionmaker() as session:
            alerts = await session.scalar(select(func.count()).select_from(AlertRecord))
            notes = await session.scalar(select(func.count()).select_from(Notification))
        assert (alerts, notes) == (1, 1)
        assert DUPLICATES._value.get() == duplicates_before + 1, "the record was delivered again"
    finally:
        await engine.dispose()
