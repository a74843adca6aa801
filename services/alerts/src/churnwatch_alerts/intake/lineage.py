"""After an alert batch is stored: the end-to-end latency and the alert's span.

``apply_alerts`` keeps, for each newly stored alert, its record's ``ingested_at`` and trace
context (``origins``); once the transaction committed the intake calls :func:`stored`, which
observes ``churnwatch_alerts_e2e_latency_seconds`` and, with tracing on, ends a span
``alerts.intake`` per alert whose parent is the monitor's alert span (so the alert's trace
reaches back to the ingest request). Replayed alerts (already stored) are not counted.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind

from churnwatch_alerts.metrics import E2E_LATENCY
from churnwatch_shared.observability.lineage import (
    HEADER_EVENT_ID,
    Headers,
    header,
    ingested_at,
    parent_context,
    trace_headers,
)
from churnwatch_shared.observability.tracing import STATE


@dataclass(frozen=True, slots=True)
class Origin:
    alert_id: str
    rule_id: str
    ingested_at: float | None  # epoch seconds
    event_id: str | None
    trace: Headers


def origins(*, records: Iterable[Any], alerts: Iterable[Any], new: Iterable[str]) -> list[Origin]:
    """One ``Origin`` per newly stored alert; ``records`` and ``alerts`` pair up in order."""
    fresh = set(new)
    out: list[Origin] = []
    for record, alert in zip(records, alerts, strict=True):
        if alert.alert_id not in fresh:
            continue
        headers = record.headers or ()
        event_id = header(headers, HEADER_EVENT_ID)
        out.append(
            Origin(
                alert_id=alert.alert_id,
                rule_id=alert.rule_id,
                ingested_at=ingested_at(headers),
                event_id=event_id.decode(errors="replace") if event_id else None,
                trace=trace_headers(headers),
            )
        )
    return out


def stored(found: list[Origin], *, polled_ns: int, now: float | None = None) -> None:
    """The batch is committed: observe each alert's e2e latency; a span each when tracing."""
    moment = time.time() if now is None else now
    for origin in found:
        if origin.ingested_at is not None:
            E2E_LATENCY.observe(max(0.0, moment - origin.ingested_at))
    if not STATE.enabled:
        return
    end_ns = int(moment * 1e9)
    for origin in found:
        span = STATE.tracer.start_span(
            "alerts.intake",
            context=parent_context(origin.trace),
            kind=SpanKind.CONSUMER,
            start_time=polled_ns,
            attributes={
                "churnwatch.alert_id": origin.alert_id,
                "churnwatch.rule_id": origin.rule_id,
                "churnwatch.event_id": origin.event_id or "",
            },
        )
        span.end(end_time=end_ns)
