"""Pure ASGI middleware (no BaseHTTPMiddleware: no extra task or body copy per request).

Per HTTP request: a request id (the caller's valid ``X-Request-ID`` or a new one) bound for the
request's log lines and returned in the response; the RED metrics labelled by the matched route's
template (``/v1/customers/{customer_id}/state``, never the raw path); a server span when tracing
is on. Add it last (``app.add_middleware``) so it sees the status the exception handlers chose.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from churnwatch_shared.observability import request
from churnwatch_shared.observability.metrics import UNMATCHED, HttpMetrics
from churnwatch_shared.observability.tracing import STATE, extract_http

_HEADER = b"x-request-id"


def route_template(scope: Scope) -> str:
    """The template of the route that matched (Starlette sets scope["route"]), else 'unmatched'."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class ObservabilityMiddleware:
    """Request id, RED metrics and (when on) a server span for every HTTP request."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        raw = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                raw = value
                break
        request_id = request.request_id_from(raw)
        echo = (_HEADER, request_id.encode())
        status = 500
        observed = False
        method: str = scope["method"]

        async def send_with_id(message: Message) -> None:
            nonlocal status, observed
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echo]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # counted before the last byte leaves: a client's next request sees this one
                observed = True
                self.metrics.observe(
                    method=method,
                    route=route_template(scope),
                    status=status,
                    seconds=perf_counter() - started,
                )
            await send(message)

        tokens = request.bind(request_id)
        span = None
        if STATE.enabled:
            span, span_token = request.start_span(
                method=method,
                path=scope["path"],
                request_id=request_id,
                parent=extract_http(scope["headers"]),
            )
        failed = False
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # Left bound: the outer error handler's log line still carries the request id (the
            # context is the request's own task's, so nothing leaks to other requests).
            failed = True
            raise
        finally:
            route = route_template(scope)
            if failed and not observed:
                status = 500
            if not observed:  # no complete response (an error, a client gone)
                self.metrics.observe(
                    method=method, route=route, status=status, seconds=perf_counter() - started
                )
            if span is not None:
                request.end_span(
                    span=span, token=span_token, method=method, route=route, status=status
                )
            if not failed:
                request.unbind(tokens)
