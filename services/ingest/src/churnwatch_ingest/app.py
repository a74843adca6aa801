"""The ingest FastAPI app: factory, lifespan (Kafka producer, raw validator) and error handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from churnwatch_ingest.adapters.accounts import build_accounts_router
from churnwatch_ingest.adapters.iso20022.endpoints import build_iso20022_router
from churnwatch_ingest.adapters.runtime import Adapters
from churnwatch_ingest.auth import build_registry
from churnwatch_ingest.cache_warmup import run_warmup
from churnwatch_ingest.endpoints import authenticate, router
from churnwatch_ingest.metrics import IngestMetrics
from churnwatch_ingest.producer import EventPublisher
from churnwatch_ingest.raw_validator import RawValidator
from churnwatch_ingest.recent_ids import RecentEventIds
from churnwatch_ingest.service import IngestService
from churnwatch_ingest.settings import IngestSettings
from churnwatch_ingest.validation import EventRejected, FieldError, json_path
from churnwatch_shared.events import EVENT_ADAPTER, Event
from churnwatch_shared.observability.asgi import ObservabilityMiddleware

log = structlog.get_logger(__name__)

DESCRIPTION = """\
The front door for core-banking producers. Every event is validated against the ChurnWatch event
catalogue, stamped with the authenticated producer and written to Kafka (acks=all, idempotent
producer, keyed by customer_id) before it is acknowledged. Authenticate with `X-API-Key` or
`Authorization: Bearer <key>`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Connect the producer (in the background), start the raw validator and the adapters."""
    publisher: EventPublisher = app.state.ingest_publisher
    validator: RawValidator | None = app.state.ingest_raw_validator
    adapters: Adapters = app.state.ingest_adapters
    await publisher.start()
    warmup = asyncio.create_task(_warm_cache(app), name="ingest-cache-warmup")
    if validator is not None:
        await validator.start()
    await adapters.start()
    try:
        yield
    finally:
        warmup.cancel()
        await adapters.stop()
        if validator is not None:
            await validator.stop()
        await publisher.stop()


async def _warm_cache(app: FastAPI) -> None:
    settings: IngestSettings = app.state.ingest_settings
    done: asyncio.Event = app.state.ingest_cache_warm
    budget = settings.duplicate_cache_warmup_seconds
    if budget <= 0 or settings.duplicate_cache_size <= 0:
        done.set()
        return
    publisher: EventPublisher = app.state.ingest_publisher
    if not await publisher.wait_ready(timeout=budget):
        done.set()
        return
    try:
        partition_ids = await asyncio.wait_for(publisher.events_partitions(), timeout=budget)
    except Exception:  # noqa: BLE001 - no topic or broker: start cold (the monitor dedups)
        log.warning("duplicate_cache_warmup_skipped", topic=publisher.events_topic)
        done.set()
        return
    await run_warmup(
        bootstrap=settings.common.kafka_bootstrap,
        topic=publisher.events_topic,
        partition_ids=partition_ids,
        recent=app.state.ingest_service.recent,
        capacity=settings.duplicate_cache_size,
        budget_seconds=budget,
        done=done,
    )


async def _rejected(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EventRejected)
    request.app.state.ingest_metrics.rejected.labels(exc.event_type, exc.reason, "http").inc()
    headers = (
        {"WWW-Authenticate": 'Bearer, ApiKey header="X-API-Key"'} if exc.status == 401 else None
    )
    return JSONResponse(status_code=exc.status, content=exc.body(), headers=headers)


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(json_path(tuple(e.get("loc", ()))), str(e.get("msg", "")), None).as_dict()
        for e in exc.errors()
    ]
    return JSONResponse(
        status_code=422,
        content={"error": "request", "message": "request is not valid", "errors": errors},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        status_code=exc.status_code,
        content={"error": "http", "message": str(exc.detail), "errors": []},
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", path=request.url.path, exc_info=exc)
    return JSONResponse(
        status_code=500, content={"error": "internal", "message": "internal error", "errors": []}
    )


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        event_schema = EVENT_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(event_schema.pop("$defs", {}))
        components["Event"] = event_schema
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """Build the app; Kafka connections are made in the lifespan, not here."""
    settings = settings or IngestSettings()
    registry = build_registry(settings=settings)
    metrics = IngestMetrics()
    publisher = EventPublisher(settings=settings, metrics=metrics)
    # Swagger UI and ReDoc assets served by the service itself: a bank network has no CDN.
    app = FastAPIOffline(
        title="ChurnWatch ingest", version="1.0.0", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.ingest_settings = settings
    app.state.ingest_registry = registry
    app.state.ingest_metrics = metrics
    app.state.ingest_publisher = publisher
    app.state.ingest_cache_warm = asyncio.Event()
    adapters = Adapters(settings=settings, registry=metrics.registry)
    app.state.ingest_adapters = adapters
    # Bound straight to the index (not via Adapters.observe): called once per accepted event.
    observe = adapters.owners.observe if adapters.enabled else None
    service = IngestService(
        settings=settings,
        publisher=publisher,
        recent=RecentEventIds(capacity=settings.duplicate_cache_size),
        metrics=metrics,
        on_accepted=observe,
    )
    app.state.ingest_service = service
    app.state.ingest_raw_validator = (
        RawValidator(settings=settings, publisher=publisher, metrics=metrics, on_accepted=observe)
        if settings.raw_validator_enabled
        else None
    )
    app.include_router(router)
    if adapters.enabled:

        async def publish_camt(events: list[Event]) -> None:
            await service.publish_adapted(events, source="iso20022")

        app.include_router(
            build_iso20022_router(
                publish=publish_camt,
                owner_of=adapters.owners.owner,
                producer_dependency=authenticate,
                own_bics=settings.own_bics,
                max_body_bytes=settings.max_batch_bytes,
                recent=service.recent,
            )
        )
        app.include_router(
            build_accounts_router(owners=adapters.owners, producer_dependency=authenticate)
        )
    app.add_exception_handler(EventRejected, _rejected)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(ObservabilityMiddleware, metrics=metrics.http)
    return app
