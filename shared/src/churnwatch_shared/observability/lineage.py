"""Where a record came from: the ingest time and trace context that travel in Kafka headers.

Ingest sets ``ingested_at`` on every EVENTS record (always, tracing or not); the state monitor
copies the firing event's ``ingested_at`` and ``event_id`` onto each alert record, with the trace
context of its alert span (or the event's own when the monitor does not trace); the alerts
service measures ingest -> alert stored from it (``churnwatch_alerts_e2e_latency_seconds``) and
continues the trace. The clocks of ingest and alerts hosts must agree (NTP) for the latency.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from opentelemetry import context as otel_context

from churnwatch_shared.observability.tracing import context_from_headers

HEADER_INGESTED_AT = "ingested_at"  # epoch milliseconds, ASCII digits
HEADER_EVENT_ID = "event_id"  # on alert records: the event that fired the alert
TRACE_HEADERS = ("traceparent", "tracestate")

Headers = list[tuple[str, bytes]]


def ingested_at_header(*, now: float | None = None) -> tuple[str, bytes]:
    """The ``ingested_at`` header: when ingest handed the record to Kafka (default: now)."""
    moment = time.time() if now is None else now
    return (HEADER_INGESTED_AT, str(int(moment * 1000)).encode())


def header(headers: Iterable[tuple[str, bytes]] | None, name: str) -> bytes | None:
    """The value of header ``name`` (the last one when repeated), None when absent."""
    found = None
    for key, value in headers or ():
        if key == name:
            found = value
    return found


def ingested_at(headers: Iterable[tuple[str, bytes]] | None) -> float | None:
    """Epoch seconds from ``ingested_at``; None when absent or not a plausible millisecond time."""
    raw = header(headers, HEADER_INGESTED_AT)
    if raw is None or not raw.isdigit() or len(raw) > 15:
        return None
    return int(raw) / 1000


def trace_headers(headers: Iterable[tuple[str, bytes]] | None) -> Headers:
    """Only the W3C trace context headers of ``headers``."""
    return [(k, v) for k, v in headers or () if k in TRACE_HEADERS]


def parent_context(headers: Iterable[tuple[str, bytes]] | None) -> otel_context.Context | None:
    """The trace context a record carries, None when it carries none."""
    return context_from_headers(list(headers) if headers is not None else None)
