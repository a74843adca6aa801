"""What the HTTP middlewares (ASGI and aiohttp) do around each request, in one place."""

from __future__ import annotations

from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from churnwatch_shared.observability import context, tracing
from churnwatch_shared.observability.tracing import STATE

_bind = structlog.contextvars.bind_contextvars
_reset = structlog.contextvars.reset_contextvars


def request_id_from(raw: bytes | str | None) -> str:
    """The caller's valid X-Request-ID, or a new one."""
    return context.valid_request_id(raw) or context.new_request_id()


def bind(request_id: str) -> tuple[Any, object]:
    """Bind the id for logs (structlog contextvars) and for Kafka headers; returns the tokens."""
    return _bind(request_id=request_id), context.set_request_id(request_id)


def unbind(tokens: tuple[Any, object]) -> None:
    """Undo :func:`bind`."""
    _reset(**tokens[0])
    context.reset_request_id(tokens[1])


def start_span(
    *, method: str, path: str, request_id: str, parent: otel_context.Context | None
) -> tuple[trace.Span, object]:
    """A server span for the request, made current; returns it and the context token."""
    span = STATE.tracer.start_span(
        method,
        context=parent,
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": method,
            "url.path": path,
            "churnwatch.request_id": request_id,
        },
    )
    return span, otel_context.attach(trace.set_span_in_context(span))


def end_span(*, span: trace.Span, token: object, method: str, route: str, status: int) -> None:
    """Name the span by route template, record the status and end it."""
    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()
    otel_context.detach(token)  # type: ignore[arg-type]


def annotate(**attributes: str | int) -> None:
    """Add attributes (e.g. the event id) to the current span; nothing while tracing is off."""
    if STATE.enabled:
        span = trace.get_current_span()
        for name, value in attributes.items():
            span.set_attribute(f"churnwatch.{name}", value)


__all__ = ["annotate", "bind", "end_span", "request_id_from", "start_span", "tracing", "unbind"]
