"""Observability shared by every service: HTTP RED metrics, process metrics, request ids, tracing.

- ``metrics``: ``HttpMetrics`` (churnwatch_http_requests_total, churnwatch_http_request_duration_
  seconds, labelled by route template) and ``add_process_metrics`` for a service's own registry.
- ``context``: the request id (``X-Request-ID``) bound into structlog's contextvars, and the Kafka
  headers a publish carries on (request id, W3C traceparent).
- ``tracing``: OpenTelemetry, off unless CHURNWATCH_TRACING=otlp|console.
- ``asgi`` (FastAPI services) and ``aiohttp`` (the monitor's Faust web server): the middleware.
"""

from churnwatch_shared.observability.context import (
    HEADER_REQUEST_ID,
    REQUEST_ID_HTTP_HEADER,
    current_request_id,
    kafka_context_headers,
    new_request_id,
    valid_request_id,
)
from churnwatch_shared.observability.metrics import HttpMetrics, add_process_metrics
from churnwatch_shared.observability.tracing import (
    TRACING_ENV,
    configure_tracing,
    context_from_headers,
    tracer,
    tracing_enabled,
)

__all__ = [
    "HEADER_REQUEST_ID",
    "REQUEST_ID_HTTP_HEADER",
    "TRACING_ENV",
    "HttpMetrics",
    "add_process_metrics",
    "configure_tracing",
    "context_from_headers",
    "current_request_id",
    "kafka_context_headers",
    "new_request_id",
    "tracer",
    "tracing_enabled",
    "valid_request_id",
]
