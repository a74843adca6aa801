"""An alert's trace reaches back to the ingest request, across the real broker (issue 18).

Ingest (in-process, ASGI), the state monitor's event processor and the alerts intake run in this
process with tracing into one in-memory exporter; events and alerts travel through real Kafka
topics and the alert is stored in a real PostgreSQL database. The alert's spans must share the
ingest request's trace id, the monitor's batch span must link to the event's context, and the
alerts service must observe the ingest -> stored latency from the alert record's headers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from sqlalchemy import select

from churnwatch_alerts.clock import SystemClock
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.intake.consumer import Intake
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.models import AlertRecord
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset
from churnwatch_state_monitor.worker.changelog import changelog_topic
from churnwatch_state_monitor.worker.metrics import MonitorMetrics
from churnwatch_state_monitor.worker.processor import EventProcessor
from churnwatch_state_monitor.worker.settings import MonitorSettings
from churnwatch_state_monitor.worker.work import Topics
from tests.ingest.conftest import DEV_HEADERS
from tests.state_monitor.events import at, outflow, snapshot
from tests.support.kafka import consume_until

pytestmark = pytest.mark.integration

E2E = "churnwatch_alerts_e2e_latency_seconds"


async def _crash(exc: BaseException) -> None:
    raise AssertionError(f"the monitor crashed: {exc!r}")


def _e2e_count() -> float:
    return REGISTRY.get_sample_value(f"{E2E}_count") or 0.0


def _processor(*, bootstrap: str, namespace: str, data: Path) -> EventProcessor:
    common = CommonSettings(kafka_bootstrap=bootstrap, topic_namespace=namespace)
    settings = MonitorSettings(
        store="memory://",
        data_dir=data,
        app_id=f"{namespace}-state-monitor",
        common=common,
        session_timeout_s=6,
        scan_interval_s=0,
    )
    return EventProcessor(
        settings=settings,
        monitor=Monitor(ruleset=load_ruleset(None)),
        metrics=MonitorMetrics(),
        events_topic=common.topic(topics.EVENTS),
        names=Topics(
            alerts=common.topic(topics.ALERTS),
            snapshots=common.topic(topics.CUSTOMER_STATE),
            dead_letter=common.topic(topics.DEAD_LETTER),
            changelog=changelog_topic(settings.resolved_app_id),
        ),
        on_crash=_crash,
    )


async def test_alert_trace_continues_the_ingest_request_and_e2e_latency_is_observed(
    spans: InMemorySpanExporter,
    start_ingest: Callable[..., Any],
    make_settings: Any,
    make_namespace: Callable[..., Any],
    make_database: Callable[[], str],
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    namespace = await make_namespace()
    ingest = await start_ingest(make_settings(namespace=namespace))
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    balance = snapshot(f"ev-bal-{customer}", customer, at(0), demand="100000.00")
    transfer = outflow(f"ev-out-{customer}", customer, at(1), "80000.00")
    for event in (balance, transfer):
        answer = await ingest.client.post("/v1/events", json=event, headers=DEV_HEADERS)
        assert answer.status_code == 202, answer.text
    acknowledged = time.time()
    (request,) = [
        s
        for s in spans.get_finished_spans()
        if s.name == "POST /v1/events"
        and s.attributes["churnwatch.event_id"] == transfer["event_id"]
    ]
    trace_id = request.context.trace_id

    processor = _processor(bootstrap=kafka_bootstrap, namespace=namespace, data=tmp_path)
    await processor.start()
    try:
        records = await consume_until(
            bootstrap=kafka_bootstrap,
            topic=topics.ALERTS.name(namespace),
            predicate=lambda rs: any(r.key == customer.encode() for r in rs),
            timeout=60,
        )
    finally:
        await processor.stop()
    (alert_record,) = [r for r in records if r.key == customer.encode()]
    headers = dict(alert_record.headers)
    assert headers["event_id"] == transfer["event_id"].encode()
    ingested_at = int(headers["ingested_at"]) / 1000
    assert acknowledged - 30 < ingested_at <= acknowledged

    names = {s.name for s in spans.get_finished_spans()}
    assert {"monitor.batch", "monitor.alert"} <= names, names
    (alert_span,) = [s for s in spans.get_finished_spans() if s.name == "monitor.alert"]
    assert alert_span.context.trace_id == trace_id  # the ingest request's trace goes on
    assert alert_span.parent is not None and alert_span.parent.span_id == request.context.span_id
    assert alert_span.attributes["churnwatch.event_id"] == transfer["event_id"]
    batch_links = [
        link.context.span_id
        for s in spans.get_finished_spans()
        if s.name == "monitor.batch"
        for link in s.links
    ]
    assert request.context.span_id in batch_links
    _, carried_trace, carried_span, _ = headers["traceparent"].decode().split("-")
    assert int(carried_trace, 16) == trace_id
    assert int(carried_span, 16) == alert_span.context.span_id

    settings = AlertsSettings(
        common=CommonSettings(kafka_bootstrap=kafka_bootstrap, topic_namespace=namespace),
        database_url=make_database(),
    )
    engine = create_engine(url=settings.database_url)
    await upgrade(engine=engine)
    sessionmaker = create_sessionmaker(engine=engine)
    before = _e2e_count()
    intake = Intake(settings=settings, sessionmaker=sessionmaker, clock=SystemClock())
    await intake.start()
    task = asyncio.create_task(intake.alerts.run())
    try:
        for _ in range(300):
            if _e2e_count() > before:
                break
            await asyncio.sleep(0.1)
        async with sessionmaker() as session:
            stored = (
                await session.execute(
                    select(AlertRecord).where(AlertRecord.customer_id == customer)
                )
            ).scalar_one()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await intake.stop()
        await engine.dispose()
    assert _e2e_count() == before + 1  # one new alert, one observation
    (intake_span,) = [s for s in spans.get_finished_spans() if s.name == "alerts.intake"]
    assert intake_span.context.trace_id == trace_id
    assert (
        intake_span.parent is not None and intake_span.parent.span_id == alert_span.context.span_id
    )
    assert intake_span.attributes["churnwatch.alert_id"] == stored.id
    assert intake_span.attributes["churnwatch.event_id"] == transfer["event_id"]
