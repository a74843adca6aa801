"""Privacy API (privacy officers only): erasure requests and proofs, marketing objections."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.dependencies import PrivacyOfficerPrincipal
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import ErasureRecord
from churnwatch_alerts.privacy import objections
from churnwatch_alerts.privacy.service import ErasureUnsent, proof, request_erasure
from churnwatch_shared.money import Identifier

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])

CustomerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$", max_length=128)]


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: Identifier
    reason: str = Field(
        min_length=3,
        max_length=500,
        description="why (e.g. 'GDPR Art. 17 request, ticket PRIV-123'); no personal data",
    )


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: str | None = Field(
        default=None, max_length=32, description="how the customer objected, e.g. branch, letter"
    )


@router.post("/erasures", status_code=status.HTTP_202_ACCEPTED)
async def create_erasure(
    body: ErasureIn, request: Request, principal: PrivacyOfficerPrincipal
) -> JSONResponse:
    """Erase the customer: the alerts database now, the monitor's state next (202, the proof)."""
    app = request.app
    try:
        erasure = await request_erasure(
            app.state.sessionmaker,
            customer_id=body.customer_id,
            reason=body.reason,
            actor=principal.id,
            now=app.state.clock.now(),
            sender=app.state.erasure_sender,
        )
    except ErasureUnsent as exc:
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={
                "detail": "the alerts database is erased but the event for the state monitor "
                f"could not be sent ({exc}); ask again to resume erasure {exc.erasure.id}",
                "erasure": proof(exc.erasure),
            },
        )
    return JSONResponse(status_code=status.HTTP_202_ACCEPTED, content=proof(erasure))


@router.get("/erasures")
async def list_erasures(
    request: Request,
    session: SessionDep,
    principal: PrivacyOfficerPrincipal,
    customer_id: Annotated[str | None, Field(max_length=128)] = None,
) -> dict[str, Any]:
    """Proofs of erasure, newest first (optionally of one customer)."""
    stmt = select(ErasureRecord).order_by(ErasureRecord.requested_at.desc()).limit(200)
    if customer_id is not None:
        stmt = stmt.where(ErasureRecord.customer_id == customer_id)
    items = [proof(e) for e in await session.scalars(stmt)]
    record(
        session,
        actor=principal.id,
        action="privacy.erasures_read",
        at=request.app.state.clock.now(),
        detail={"count": len(items)},
    )
    return {"items": items}


@router.get("/erasures/{erasure_id}")
async def get_erasure(
    erasure_id: Annotated[str, Path(max_length=64)],
    request: Request,
    session: SessionDep,
    principal: PrivacyOfficerPrincipal,
) -> dict[str, Any]:
    """One proof of erasure (the read is audited: the proof names the customer)."""
    erasure = await session.get(ErasureRecord, erasure_id)
    if erasure is None:
        raise HTTPException(status_code=404, detail=f"no erasure {erasure_id!r}")
    record(
        session,
        actor=principal.id,
        action="privacy.erasure_read",
        at=request.app.state.clock.now(),
        customer_id=erasure.customer_id,
        detail={"erasure_id": erasure_id},
    )
    return proof(erasure)


@router.get("/objections/{customer_id}")
async def get_objection(
    customer_id: CustomerId,
    request: Request,
    session: SessionDep,
    principal: PrivacyOfficerPrincipal,
) -> dict[str, Any]:
    """Whether the customer objected to profiling for marketing, since when (audited read)."""
    record(
        session,
        actor=principal.id,
        action="privacy.objection_read",
        at=request.app.state.clock.now(),
        customer_id=customer_id,
    )
    return await objections.describe(session, customer_id=customer_id)


@router.put("/objections/{customer_id}")
async def put_objection(
    customer_id: CustomerId,
    body: ObjectionIn,
    request: Request,
    session: SessionDep,
    principal: PrivacyOfficerPrincipal,
) -> dict[str, Any]:
    """Record the customer's objection (idempotent; audited)."""
    now: datetime = request.app.state.clock.now()
    await objections.record_objection(
        session, customer_id=customer_id, actor=principal.id, channel=body.channel, now=now
    )
    return await objections.describe(session, customer_id=customer_id)


@router.delete("/objections/{customer_id}")
async def delete_objection(
    customer_id: CustomerId,
    request: Request,
    session: SessionDep,
    principal: PrivacyOfficerPrincipal,
) -> dict[str, Any]:
    """Withdraw the customer's objection (audited); 404 when there is none."""
    withdrawn = await objections.withdraw(
        session, customer_id=customer_id, actor=principal.id, now=request.app.state.clock.now()
    )
    if not withdrawn:
        raise HTTPException(status_code=404, detail=f"customer {customer_id} has no objection")
    return await objections.describe(session, customer_id=customer_id)
