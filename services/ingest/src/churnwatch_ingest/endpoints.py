"""HTTP routes of ingest: events in, health and metrics out."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from churnwatch_ingest.auth import Producer, ProducerRegistry, api_key_from_headers
from churnwatch_ingest.metrics import CONTENT_TYPE, IngestMetrics
from churnwatch_ingest.openapi_examples import EVENT_EXAMPLES, openapi_examples
from churnwatch_ingest.producer import BrokerUnavailable, EventPublisher
from churnwatch_ingest.schemas import BatchAnswer, ErrorAnswer, EventAnswer, ItemStatus
from churnwatch_ingest.service import IngestService
from churnwatch_ingest.validation import EventRejected, FieldError, Reason
from churnwatch_shared.observability.request import annotate

router = APIRouter()

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="producer API key")
_bearer = HTTPBearer(auto_error=False, description="producer API key as a bearer token")
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


async def _service(request: Request) -> IngestService:
    return request.app.state.ingest_service


def _metrics(request: Request) -> IngestMetrics:
    return request.app.state.ingest_metrics


async def authenticate(
    request: Request,
    api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Producer:
    """The producer behind the presented key; 401 when there is none."""
    registry: ProducerRegistry = request.app.state.ingest_registry
    key = api_key_from_headers(
        x_api_key=api_key, authorization=f"Bearer {bearer.credentials}" if bearer else None
    )
    producer = registry.authenticate(key)
    if producer is None:
        raise EventRejected(
            401,
            "unauthenticated",
            "missing or invalid API key: send X-API-Key or Authorization: Bearer <key>",
        )
    return producer


ProducerDep = Annotated[Producer, Depends(authenticate)]
ServiceDep = Annotated[IngestService, Depends(_service)]


async def read_body(request: Request, *, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    too_large = EventRejected(
        413,
        Reason.TOO_LARGE,
        f"body exceeds {limit} bytes",
        [FieldError("$", "request body too large", f"at most {limit} bytes")],
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def unavailable_response(*, retry_after: int, body: dict[str, Any]) -> JSONResponse:
    """503 with Retry-After: nothing in it was acknowledged unless the body says so per item."""
    return JSONResponse(status_code=503, content=body, headers={"Retry-After": str(retry_after)})


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorAnswer, "description": text}
    for code, text in (
        (400, "body is not valid JSON"),
        (401, "missing or invalid API key"),
        (403, "event type outside the producer's scope"),
        (413, "body (or batch) too large"),
        (422, "schema error, unknown event_type, or occurred_at too far in the future"),
        (503, "broker unreachable or slow; retry after Retry-After seconds"),
    )
}


@router.post(
    "/v1/events",
    status_code=202,
    response_model=EventAnswer,
    responses={
        200: {"model": EventAnswer, "description": "duplicate of a recent event"},
        **_ERRORS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Event"},
                    "examples": openapi_examples(),
                }
            },
        }
    },
    summary="Send one event; 202 once the broker has acknowledged it",
)
async def post_event(request: Request, producer: ProducerDep, service: ServiceDep) -> Response:
    metrics = _metrics(request)
    with metrics.in_flight.track_inprogress():
        raw = await read_body(request, limit=service.settings.max_event_bytes)
        try:
            answer = await service.accept_one(raw=raw, producer=producer)
        except BrokerUnavailable as exc:
            return unavailable_response(
                retry_after=service.settings.retry_after_seconds,
                body={"error": "broker_unavailable", "message": str(exc), "errors": []},
            )
    annotate(event_id=answer.event_id, event_type=answer.event_type)
    status = 202 if answer.status is ItemStatus.ACCEPTED else 200
    body = {
        "status": answer.status.value,
        "event_id": answer.event_id,
        "event_type": answer.event_type,
    }
    return Response(content=orjson.dumps(body), status_code=status, media_type="application/json")


@router.post(
    "/v1/events/batch",
    response_model=BatchAnswer,
    responses={**_ERRORS, 503: {"model": BatchAnswer, "description": "some items unavailable"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": "#/components/schemas/Event"},
                    },
                    "example": list(EVENT_EXAMPLES.values())[:3],
                },
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "one event JSON object per line"}
                },
            },
        }
    },
    summary="Send up to max_batch_items events (JSON array or NDJSON); answered per item",
)
async def post_batch(request: Request, producer: ProducerDep, service: ServiceDep) -> Response:
    metrics = _metrics(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    with metrics.in_flight.track_inprogress():
        raw = await read_body(request, limit=service.settings.max_batch_bytes)
        answer = await service.accept_batch(
            raw=raw, ndjson=content_type in NDJSON_TYPES, producer=producer
        )
    annotate(events_accepted=answer["accepted"])
    headers = (
        {"Retry-After": str(service.settings.retry_after_seconds)}
        if answer["unavailable"]
        else None
    )
    return Response(
        content=orjson.dumps(answer),
        status_code=503 if headers else 200,
        headers=headers,
        media_type="application/json",
    )


@router.get("/healthz", summary="Process alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary=(
        "Dependencies reachable: broker, events topic, every partition producible (has a leader, "
        "producer not being re-created), raw validator, account owners, Fineract bridge (when "
        "enabled); duplicate cache warmed. A 503 names what is not ready in `reasons`"
    ),
)
async def readyz(request: Request) -> JSONResponse:
    publisher: EventPublisher = request.app.state.ingest_publisher
    checks, reasons = await publisher.readiness()
    validator = request.app.state.ingest_raw_validator
    if validator is not None:
        checks["raw_validator"] = validator.running
    checks["duplicate_cache"] = request.app.state.ingest_cache_warm.is_set()
    checks.update(request.app.state.ingest_adapters.checks())
    ready = all(checks.values())
    content: dict[str, Any] = {"status": "ready" if ready else "not_ready", "dependencies": checks}
    if not ready:
        content["reasons"] = reasons
    return JSONResponse(status_code=200 if ready else 503, content=content)


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    return Response(content=_metrics(request).render(), media_type=CONTENT_TYPE)
