"""The request id of the request being handled, and the Kafka headers a publish carries on.

A caller may send ``X-Request-ID`` (printable ASCII, at most 128 characters); anything else is
replaced by a generated id rather than refused, so a bad id never costs a request. The id is
bound into structlog's contextvars (every log line of the request carries ``request_id``) and
returned in the response.
"""

from __future__ import annotations

import os
from contextvars import ContextVar

from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from churnwatch_shared.observability import tracing

REQUEST_ID_HTTP_HEADER = "X-Request-ID"
HEADER_REQUEST_ID = "request_id"  # Kafka record header
MAX_REQUEST_ID = 128

_REQUEST_ID: ContextVar[str | None] = ContextVar("churnwatch_request_id", default=None)
_PROPAGATOR = TraceContextTextMapPropagator()


def new_request_id() -> str:
    """A fresh random id (32 hex digits)."""
    return os.urandom(16).hex()


def valid_request_id(raw: bytes | str | None) -> str | None:
    """The caller's id when it is printable ASCII of 1 to 128 characters, else None."""
    if not raw or len(raw) > MAX_REQUEST_ID:
        return None
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    if text.isascii() and text.isprintable():
        return text
    return None


def current_request_id() -> str | None:
    """The id of the request being handled in this context (None outside a request)."""
    return _REQUEST_ID.get()


def set_request_id(request_id: str | None) -> object:
    """Bind an id to this context; returns the token to reset it with."""
    return _REQUEST_ID.set(request_id)


def reset_request_id(token: object) -> None:
    """Undo :func:`set_request_id`."""
    _REQUEST_ID.reset(token)  # type: ignore[arg-type]


def kafka_context_headers() -> list[tuple[str, bytes]]:
    """Headers for records published while handling a request: request id and traceparent.

    Empty outside a request with tracing off, so a caller can skip copying its records.
    """
    headers: list[tuple[str, bytes]] = []
    request_id = _REQUEST_ID.get()
    if request_id is not None:
        headers.append((HEADER_REQUEST_ID, request_id.encode()))
    if tracing.STATE.enabled:
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        headers.extend((name, value.encode()) for name, value in carrier.items())
    return headers
