"""Alert records with their origin: the firing event's id, ingest time and trace context.

Called once per batch (``processor._apply``) with the batch's records and the alerts they fired.
Each alert record gets the headers ``event_id`` (the event that fired it), ``ingested_at`` (copied
from that event's record: the alerts service measures ingest -> stored from it) and the W3C trace
context. The firing record is the one of the alert's customer in this batch; when the customer has
several, the one whose event id the alert names as evidence (every rule names the firing event).

With tracing on (CHURNWATCH_TRACING) the batch gets a span ``monitor.batch`` linked to every
traced event's context (up to ``MAX_LINKS``), and each alert a span ``monitor.alert`` whose parent
is its event's context (the ingest request's trace continues through the monitor) and whose
context goes on in the alert record's headers. With tracing off here the event's own trace
context is copied onto the alert, so a traced ingest and alerts service still connect.

Costs nothing for a batch without alerts and with tracing off; otherwise one pass over the batch's
keys, and an event id parse only for a customer with several events in the batch.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from churnwatch_shared.alerts import Alert
from churnwatch_shared.observability.lineage import (
    HEADER_EVENT_ID,
    HEADER_INGESTED_AT,
    Headers,
    header,
    parent_context,
    trace_headers,
)
from churnwatch_shared.observability.tracing import STATE

MAX_LINKS = 128  # OpenTelemetry's default span link limit
_PROPAGATOR = TraceContextTextMapPropagator()

AlertRecord = tuple[bytes, bytes, Headers]


def _event_id(record: Any) -> str | None:
    try:
        body = orjson.loads(record.value)
    except (orjson.JSONDecodeError, TypeError):
        return None
    found = body.get("event_id") if isinstance(body, dict) else None
    return found if isinstance(found, str) else None


def _firing(candidates: list[Any] | None, alert: Alert) -> Any | None:
    """The record of the event that fired ``alert`` among its customer's records in the batch."""
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    # the canonical encoding (ingest's) first: a byte search, no parse per candidate
    marks = [b'"event_id":"' + e.encode() + b'"' for e in alert.evidence_event_ids]
    for record in reversed(candidates):
        value = record.value or b""
        if any(mark in value for mark in marks):
            return record
    evidence = set(alert.evidence_event_ids)
    for record in reversed(candidates):  # other encodings (spaces): parse
        if _event_id(record) in evidence:
            return record
    return candidates[-1]


def _origin_headers(record: Any | None, alert: Alert) -> Headers:
    headers: Headers = []
    evidence = alert.evidence_event_ids
    # every rule names the firing event alone; otherwise read it from the record
    event_id = (
        evidence[0] if len(evidence) == 1 else (_event_id(record) if record is not None else None)
    )
    if record is not None:
        ingested = header(record.headers, HEADER_INGESTED_AT)
        if ingested is not None:
            headers.append((HEADER_INGESTED_AT, ingested))
    if event_id:
        headers.append((HEADER_EVENT_ID, event_id.encode()))
    return headers


def _batch_span(batch: Mapping[Any, list[Any]], started_ns: int, alerts: int) -> trace.Span:
    links: list[Link] = []
    events = 0
    for records in batch.values():
        events += len(records)
        for record in records:
            if len(links) >= MAX_LINKS:
                break
            ctx = parent_context(record.headers)
            if ctx is not None:
                links.append(Link(trace.get_current_span(ctx).get_span_context()))
    return STATE.tracer.start_span(
        "monitor.batch",
        kind=SpanKind.CONSUMER,
        links=links,
        start_time=started_ns,
        attributes={"churnwatch.events": events, "churnwatch.alerts": alerts},
    )


def alert_records(
    *, batch: Mapping[Any, list[Any]], fired: list[tuple[bytes, Alert]], started_ns: int
) -> list[AlertRecord]:
    """(key, value, headers) of each fired alert, in order; spans too when tracing is on."""
    tracing = STATE.enabled
    if not fired and not tracing:
        return []
    wanted = {key for key, _ in fired}
    by_key: dict[bytes, list[Any]] = {}
    if wanted:
        for records in batch.values():
            for record in records:
                if record.key in wanted:
                    by_key.setdefault(record.key, []).append(record)
    batch_span = _batch_span(batch, started_ns, len(fired)) if tracing and batch else None
    out: list[AlertRecord] = []
    for key, alert in fired:
        record = _firing(by_key.get(key), alert)
        headers = _origin_headers(record, alert)
        carried = record.headers if record is not None else None
        if tracing:
            headers.extend(_alert_span(alert, carried, batch_span, started_ns, headers))
        else:
            headers.extend(trace_headers(carried))  # keep a traced ingest's trace connected
        out.append((key, alert.model_dump_json().encode(), headers))
    if batch_span is not None:
        batch_span.end()
    return out


def _alert_span(
    alert: Alert,
    carried: Any,
    batch_span: trace.Span | None,
    started_ns: int,
    headers: Headers,
) -> Headers:
    parent = parent_context(carried)
    links = [Link(batch_span.get_span_context())] if batch_span is not None else []
    if parent is None and batch_span is not None:  # an untraced event: under the batch's span
        parent = trace.set_span_in_context(batch_span)
    event_id = header(headers, HEADER_EVENT_ID)
    span = STATE.tracer.start_span(
        "monitor.alert",
        context=parent,
        kind=SpanKind.PRODUCER,
        links=links,
        start_time=started_ns,
        attributes={
            "churnwatch.alert_id": alert.alert_id,
            "churnwatch.rule_id": alert.rule_id,
            "churnwatch.event_id": event_id.decode() if event_id else "",
        },
    )
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    span.end(end_time=time.time_ns())
    return [(name, value.encode()) for name, value in carrier.items()]
