"""The shared HTTP middleware on a small FastAPI app and a small aiohttp app (no broker needed)."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from fastapi import FastAPI, HTTPException
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from churnwatch_shared.logging import configure_logging
from churnwatch_shared.observability import HttpMetrics, add_process_metrics, configure_tracing
from churnwatch_shared.observability.aiohttp_web import observability_middleware
from churnwatch_shared.observability.asgi import ObservabilityMiddleware

log = structlog.get_logger("test.observability")


def build_app() -> tuple[FastAPI, CollectorRegistry]:
    registry = CollectorRegistry()
    app = FastAPI()

    @app.get("/v1/customers/{customer_id}/state")
    async def state(customer_id: str) -> dict[str, str]:
        log.info("state_read", customer_id=customer_id)
        return {"customer_id": customer_id}

    @app.get("/boom")
    async def boom() -> None:
        raise HTTPException(status_code=503, detail="down")

    app.add_middleware(ObservabilityMiddleware, metrics=HttpMetrics(registry=registry))
    return app, registry


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


async def test_metrics_are_labelled_by_route_template_not_raw_path() -> None:
    app, registry = build_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for customer in ("c-1", "c-2", "c-3"):
            assert (await c.get(f"/v1/customers/{customer}/state")).status_code == 200
        assert (await c.get("/boom")).status_code == 503
        assert (await c.get("/no/such/path/42")).status_code == 404
    route = "/v1/customers/{customer_id}/state"
    total = "churnwatch_http_requests_total"
    assert sample(registry, total, method="GET", route=route, status="200") == 3
    assert sample(registry, total, method="GET", route="/boom", status="503") == 1
    assert sample(registry, total, method="GET", route="unmatched", status="404") == 1
    count = "churnwatch_http_request_duration_seconds_count"
    assert sample(registry, count, method="GET", route=route) == 3
    text = generate_latest(registry).decode()
    assert "c-1" not in text and "/no/such/path" not in text


async def test_request_id_is_echoed_validated_or_generated() -> None:
    app, _ = build_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        given = await c.get("/v1/customers/c/state", headers={"X-Request-ID": "abc-123.x"})
        assert given.headers["x-request-id"] == "abc-123.x"
        generated = await c.get("/v1/customers/c/state")
        assert len(generated.headers["x-request-id"]) == 32
        for bad in (b"x" * 129, b"tab\there", "é-non-ascii".encode()):
            answer = await c.get("/v1/customers/c/state", headers={"X-Request-ID": bad})
            assert answer.status_code == 200
            echoed = answer.headers["x-request-id"]
            assert echoed.encode() != bad and len(echoed) == 32, bad
        assert (await c.get("/boom")).headers["x-request-id"]
        assert (await c.get("/nothing")).headers["x-request-id"]


async def test_every_log_line_of_a_request_carries_its_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(service="test", level="INFO", json=True)
    try:
        app, _ = build_app()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            await c.get("/v1/customers/c-9/state", headers={"X-Request-ID": "req-42"})
            await c.get("/v1/customers/c-10/state")
        logging.getLogger("test.stdlib").info("outside a request")
    finally:  # the handler writes to this test's captured stderr
        root.handlers[:] = handlers
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    reads = [line for line in lines if line["event"] == "state_read"]
    assert reads[0]["request_id"] == "req-42"
    assert len(reads[1]["request_id"]) == 32
    outside = next(line for line in lines if line["event"] == "outside a request")
    assert "request_id" not in outside  # unbound after the request


async def test_span_per_request_named_by_route_and_continuing_the_callers_trace(
    spans: InMemorySpanExporter,
) -> None:
    app, _ = build_app()
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.get("/v1/customers/c-1/state", headers={"traceparent": parent})
        await c.get("/boom")
    first, second = spans.get_finished_spans()
    assert first.name == "GET /v1/customers/{customer_id}/state"
    assert format(first.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert first.attributes["http.response.status_code"] == 200
    assert first.attributes["churnwatch.request_id"]
    assert second.name == "GET /boom" and second.status.status_code.name == "ERROR"


def test_tracing_mode_is_checked() -> None:
    with pytest.raises(ValueError, match="accepted are off, otlp, console"):
        configure_tracing(service="test", mode="jaeger")
    assert configure_tracing(service="test", mode="off") is False


def test_process_metrics_in_a_services_own_registry() -> None:
    registry = CollectorRegistry()
    add_process_metrics(registry=registry)
    assert (registry.get_sample_value("process_resident_memory_bytes") or 0) > 0
    assert registry.get_sample_value("process_open_fds") is not None


async def test_aiohttp_middleware_labels_by_resource_template_and_echoes_the_id() -> None:
    registry = CollectorRegistry()
    app = web.Application(
        middlewares=[observability_middleware(metrics=HttpMetrics(registry=registry))]
    )

    async def state(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["customer_id"]})

    app.router.add_get("/v1/customers/{customer_id}/state", state)
    async with TestClient(TestServer(app)) as client:
        ok = await client.get("/v1/customers/c-7/state", headers={"X-Request-ID": "mon-1"})
        assert ok.status == 200 and ok.headers["X-Request-ID"] == "mon-1"
        missing = await client.get("/elsewhere")
        assert missing.status == 404 and len(missing.headers["X-Request-ID"]) == 32
    route = "/v1/customers/{customer_id}/state"
    total = "churnwatch_http_requests_total"
    assert sample(registry, total, method="GET", route=route, status="200") == 1
    assert sample(registry, total, method="GET", route="unmatched", status="404") == 1
