"""The same per-request observability for an aiohttp server (the monitor's Faust web views)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import perf_counter

from aiohttp import web

from churnwatch_shared.observability import request
from churnwatch_shared.observability.context import REQUEST_ID_HTTP_HEADER
from churnwatch_shared.observability.metrics import UNMATCHED, HttpMetrics
from churnwatch_shared.observability.tracing import STATE, extract_http

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_template(req: web.Request) -> str:
    """The matched resource's template (``/v1/customers/{customer_id}/state``), else 'unmatched'."""
    resource = req.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def observability_middleware(
    *, metrics: HttpMetrics
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An aiohttp middleware: request id, RED metrics, server span (when tracing is on)."""

    @web.middleware
    async def middleware(req: web.Request, handler: Handler) -> web.StreamResponse:
        started = perf_counter()
        request_id = request.request_id_from(req.headers.get(REQUEST_ID_HTTP_HEADER))
        tokens = request.bind(request_id)
        method = req.method
        span = None
        if STATE.enabled:
            carried = [
                (name.encode(), value.encode())
                for name in ("traceparent", "tracestate")
                if (value := req.headers.get(name))
            ]
            span, span_token = request.start_span(
                method=method, path=req.path, request_id=request_id, parent=extract_http(carried)
            )
        status = 500
        try:
            response = await handler(req)
            status = response.status
            response.headers[REQUEST_ID_HTTP_HEADER] = request_id
            return response
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[REQUEST_ID_HTTP_HEADER] = request_id
            raise
        finally:
            route = route_template(req)
            metrics.observe(
                method=method, route=route, status=status, seconds=perf_counter() - started
            )
            if span is not None:
                request.end_span(
                    span=span, token=span_token, method=method, route=route, status=status
                )
            request.unbind(tokens)

    return middleware
