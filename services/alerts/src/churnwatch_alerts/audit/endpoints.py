"""Auditors: GET /v1/audit (paged), /export (CSV, NDJSON), /verify (the hash chain); all audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.audit import repository
from churnwatch_alerts.audit.repository import AuditFilters
from churnwatch_alerts.audit.schemas import (
    AuditEntryOut,
    AuditPage,
    ChainVerdictOut,
    ExportFormat,
    csv_lines,
    ndjson_lines,
)
from churnwatch_alerts.audit.verify import verify
from churnwatch_alerts.audit.writer import record, record_now
from churnwatch_alerts.auth.dependencies import AuditorPrincipal
from churnwatch_alerts.db import SessionDep

router = APIRouter(prefix="/v1/audit", tags=["audit"])

MAX_ID = 2**63 - 1  # the BIGINT range; a larger cursor is refused with 422, not a 500
EXPORT_CHUNK = 1000
MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.NDJSON: "application/x-ndjson",
}


def _filters(
    actor: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="inclusive; ISO 8601 with a time zone")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="exclusive; ISO 8601 with a time zone")
    ] = None,
) -> AuditFilters:
    if since is not None and until is not None and until <= since:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"until ({until.isoformat()}) must be after since ({since.isoformat()})",
        )
    return AuditFilters(
        actor=actor, customer_id=customer_id, action=action, since=since, until=until
    )


FiltersDep = Annotated[AuditFilters, Depends(_filters)]


@router.get("", response_model=AuditPage)
async def read_audit(
    request: Request,
    session: SessionDep,
    principal: AuditorPrincipal,
    filters: FiltersDep,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="next_before_id of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Audit rows matching the filters, newest first; page on with ``before_id``."""
    rows = await repository.page(session, filters=filters, before_id=before_id, limit=limit)
    items = [AuditEntryOut.model_validate(r) for r in rows]
    record(
        session,
        actor=principal.id,
        action="audit.read",
        at=request.app.state.clock.now(),
        detail={**filters.as_detail(), "before_id": before_id, "returned": len(items)},
    )
    return AuditPage(items=items, next_before_id=items[-1].id if len(items) == limit else None)


@router.get("/verify", response_model=ChainVerdictOut)
async def verify_audit(request: Request, principal: AuditorPrincipal) -> ChainVerdictOut:
    """Check the whole hash chain (as the CLI does); 200 with ``ok`` false when it is broken."""
    verdict = await verify(engine=request.app.state.engine)
    # Own transaction, after the walk: the check reads a snapshot that excludes its own row.
    await record_now(
        request.app.state.sessionmaker,
        actor=principal.id,
        action="audit.verify",
        at=request.app.state.clock.now(),
        detail={
            "ok": verdict.ok,
            "rows": verdict.rows,
            "head_seq": verdict.head_seq,
            "problems": len(verdict.problems),
        },
    )
    return ChainVerdictOut.model_validate(verdict.as_dict())


async def _export_body(
    sessionmaker: async_sessionmaker[AsyncSession], *, filters: AuditFilters, fmt: ExportFormat
) -> AsyncIterator[bytes]:
    if fmt is ExportFormat.CSV:
        yield csv_lines([])
    after_id = 0
    while True:
        # A short transaction per chunk: a long export holds no snapshot open on the log.
        async with sessionmaker() as session:
            rows = await repository.chunk(
                session, filters=filters, after_id=after_id, limit=EXPORT_CHUNK
            )
        if not rows:
            return
        entries = [AuditEntryOut.model_validate(r) for r in rows]
        after_id = entries[-1].id
        if fmt is ExportFormat.CSV:
            yield csv_lines(entries, header=False)
        else:
            yield ndjson_lines(entries)
        if len(rows) < EXPORT_CHUNK:
            return


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}},
)
async def export_audit(
    request: Request,
    principal: AuditorPrincipal,
    filters: FiltersDep,
    format: Annotated[ExportFormat, Query(description="csv or ndjson")] = ExportFormat.NDJSON,
) -> StreamingResponse:
    """Every audit row matching the filters, oldest first, as CSV or NDJSON (streamed)."""
    # Written and committed before the first byte leaves: an export is never unrecorded.
    recorded = await record_now(
        request.app.state.sessionmaker,
        actor=principal.id,
        action="audit.export",
        at=request.app.state.clock.now(),
        detail={**filters.as_detail(), "format": format.value},
    )
    if not recorded:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the export could not be recorded in the audit log; try again",
        )
    name = f"churnwatch-audit.{format.value}"
    return StreamingResponse(
        _export_body(request.app.state.sessionmaker, filters=filters, fmt=format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
