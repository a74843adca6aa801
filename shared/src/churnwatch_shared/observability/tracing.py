"""OpenTelemetry tracing, off by default: CHURNWATCH_TRACING=otlp|console|off.

``otlp`` exports over OTLP/HTTP; the endpoint, headers and timeouts come from the standard
OTEL_EXPORTER_OTLP_* variables (default http://localhost:4318/v1/traces), the service name from
OTEL_SERVICE_NAME (default ``churnwatch-<service>``). With tracing off the middleware and the
Kafka header helper check one flag and do nothing else.

The provider is kept here rather than installed as the global one, so a test can configure an
in-memory exporter again and again; spans still use the global context (contextvars).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import NoOpTracer, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACING_ENV = "CHURNWATCH_TRACING"
MODES = ("off", "otlp", "console")
_PROPAGATOR = TraceContextTextMapPropagator()


@dataclass(slots=True)
class _State:
    enabled: bool = False
    tracer: Tracer = field(default_factory=NoOpTracer)
    provider: TracerProvider | None = None


STATE = _State()


def tracing_enabled() -> bool:
    """True when spans are recorded and exported."""
    return STATE.enabled


def tracer() -> Tracer:
    """The tracer of this process (a no-op one while tracing is off)."""
    return STATE.tracer


def configure_tracing(
    *, service: str, mode: str | None = None, exporter: SpanExporter | None = None
) -> bool:
    """Set tracing up from ``mode`` (default: $CHURNWATCH_TRACING, else off); True when on.

    ``exporter`` (tests: an in-memory exporter) replaces the one the mode names and exports each
    span as it ends.
    """
    chosen = (mode if mode is not None else os.environ.get(TRACING_ENV, "off")).strip().lower()
    if chosen not in MODES:
        raise ValueError(
            f"{TRACING_ENV}={chosen!r} is not a tracing mode: accepted are {', '.join(MODES)}"
        )
    shutdown_tracing()
    if chosen == "off" and exporter is None:
        return False
    name = os.environ.get("OTEL_SERVICE_NAME") or f"churnwatch-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif chosen == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    STATE.provider = provider
    STATE.tracer = provider.get_tracer("churnwatch")
    STATE.enabled = True
    return True


def shutdown_tracing() -> None:
    """Flush and stop the exporter; tracing is off afterwards."""
    provider, STATE.provider = STATE.provider, None
    STATE.enabled = False
    STATE.tracer = NoOpTracer()
    if provider is not None:
        provider.shutdown()


def context_from_headers(
    headers: Iterable[tuple[str, bytes]] | None,
) -> otel_context.Context | None:
    """The trace context a Kafka record carries (W3C traceparent), or None when it has none."""
    if not headers:
        return None
    carrier = {
        name: value.decode("latin-1")
        for name, value in headers
        if name in ("traceparent", "tracestate") and value
    }
    if "traceparent" not in carrier:
        return None
    return _PROPAGATOR.extract(carrier)


def extract_http(headers: Iterable[tuple[bytes, bytes]]) -> otel_context.Context:
    """The caller's trace context from ASGI request headers (an empty context when none)."""
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in headers
        if name in (b"traceparent", b"tracestate")
    }
    return _PROPAGATOR.extract(carrier)
