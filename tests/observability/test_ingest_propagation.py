"""Ingest on the real broker: request id and trace context travel with the event into Kafka."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from churnwatch_shared import topics
from tests.ingest.conftest import DEV_HEADERS, transaction, unique
from tests.support.kafka import consume_until


def _record_of(records: list[Any], event_id: str) -> Any:
    return next(r for r in records if orjson.loads(r.value)["event_id"] == event_id)


async def test_one_event_gets_a_span_with_its_id_and_its_record_carries_the_trace(
    spans: InMemorySpanExporter, start_ingest: Callable[..., Any], make_settings: Any
) -> None:
    ingest = await start_ingest(make_settings())
    event = transaction(customer_id=unique("cust"))
    answer = await ingest.client.post(
        "/v1/events", json=event, headers={**DEV_HEADERS, "X-Request-ID": "trace-test-1"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers["x-request-id"] == "trace-test-1"
    (span,) = [s for s in spans.get_finished_spans() if s.name == "POST /v1/events"]
    assert span.attributes["churnwatch.event_id"] == event["event_id"]
    assert span.attributes["churnwatch.request_id"] == "trace-test-1"
    topic = ingest.settings.common.topic(topics.EVENTS)
    records = await consume_until(
        bootstrap=ingest.settings.common.kafka_bootstrap,
        topic=topic,
        predicate=lambda rs: any(
            orjson.loads(r.value)["event_id"] == event["event_id"] for r in rs
        ),
    )
    headers = dict(_record_of(records, event["event_id"]).headers)
    assert headers["request_id"] == b"trace-test-1"
    version, trace_id, span_id, flags = headers["traceparent"].decode().split("-")
    assert version == "00" and int(flags, 16) & 1  # sampled
    assert trace_id == format(span.context.trace_id, "032x")
    assert span_id == format(span.context.span_id, "016x")
    assert headers["event_type"] == b"transaction.posted"  # the shared headers are still there


async def test_batch_records_carry_the_request_id_without_tracing(
    start_ingest: Callable[..., Any], make_settings: Any
) -> None:
    ingest = await start_ingest(make_settings())
    events = [transaction(customer_id=unique("cust")) for _ in range(20)]  # own-batch path
    before = time.time()
    answer = await ingest.client.post(
        "/v1/events/batch", json=events, headers={**DEV_HEADERS, "X-Request-ID": "batch-7"}
    )
    assert answer.status_code == 200 and answer.json()["accepted"] == 20
    ids = {e["event_id"] for e in events}
    records = await consume_until(
        bootstrap=ingest.settings.common.kafka_bootstrap,
        topic=ingest.settings.common.topic(topics.EVENTS),
        predicate=lambda rs: ids <= {orjson.loads(r.value)["event_id"] for r in rs},
    )
    mine = [r for r in records if orjson.loads(r.value)["event_id"] in ids]
    assert {dict(r.headers)["request_id"] for r in mine} == {b"batch-7"}
    assert all("traceparent" not in dict(r.headers) for r in mine)  # tracing is off
    # the ingest time goes with every record, tracing or not (the alerts' e2e latency)
    stamps = {int(dict(r.headers)["ingested_at"]) / 1000 for r in mine}
    assert len(stamps) == 1 and before - 1 <= stamps.pop() <= time.time()


async def test_ingest_metrics_have_http_red_and_process_series(
    start_ingest: Callable[..., Any], make_settings: Any
) -> None:
    ingest = await start_ingest(make_settings())
    await ingest.client.post("/v1/events", json=transaction(), headers=DEV_HEADERS)
    await ingest.client.post("/v1/events", json={"event_type": "nope"}, headers=DEV_HEADERS)
    text = (await ingest.client.get("/metrics")).text
    assert (
        'churnwatch_http_requests_total{method="POST",route="/v1/events",status="202"} 1.0' in text
    )
    assert (
        'churnwatch_http_requests_total{method="POST",route="/v1/events",status="422"} 1.0' in text
    )
    assert (
        'churnwatch_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/v1/events"}'
        in text
    )
    assert "process_resident_memory_bytes" in text
