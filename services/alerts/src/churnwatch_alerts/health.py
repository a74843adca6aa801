"""/healthz (alive), /readyz (database, broker, intake moving) and /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

router = APIRouter(tags=["ops"])


async def _database_ok(request: Request) -> tuple[bool, str | None]:
    try:
        async with request.app.state.engine.connect() as connection:
            await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=2.0)
        return True, None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"; the name says why
        return False, type(exc).__name__


async def _broker_ok(bootstrap: str) -> tuple[bool, str | None]:
    last_error: str | None = None
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, int(port)), timeout=1.0
            )
            writer.close()
            await writer.wait_closed()
            return True, None
        except (TimeoutError, OSError, ValueError) as exc:
            last_error = type(exc).__name__
    return False, last_error


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok", "service": "alerts"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Each dependency and whether it works; 503 when one does not (a stuck intake included)."""
    state = request.app.state
    started = time.monotonic()
    db_ok, db_error = await _database_ok(request)
    broker_ok, broker_error = await _broker_ok(state.settings.common.kafka_bootstrap)
    intake = getattr(state, "intake", None)
    dependencies = {
        "database": {"ok": db_ok, "error": db_error},
        "broker": {"ok": broker_ok, "error": broker_error},
        "intake": intake.status() if intake is not None else {"ok": True, "enabled": False},
    }
    ready = all(d["ok"] for d in dependencies.values())
    return JSONResponse(
        {
            "status": "ready" if ready else "not ready",
            "dependencies": dependencies,
            "checked_in_ms": round((time.monotonic() - started) * 1000, 1),
        },
        status_code=200 if ready else 503,
    )


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
