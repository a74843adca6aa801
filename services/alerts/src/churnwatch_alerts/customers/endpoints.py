"""GET /v1/customers/{id}/state and /alerts: the customer's five states and alert history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel
from sqlalchemy import select

from churnwatch_alerts.access import visible_customers
from churnwatch_alerts.alerts import repository as alerts_repo
from churnwatch_alerts.alerts.schemas import AlertOut
from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.dependencies import CurrentPrincipal
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.customers import repository
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import Assignment

router = APIRouter(prefix="/v1/customers", tags=["customers"])


class CustomerStateOut(BaseModel):
    customer_id: str
    snapshot: dict[str, Any] | None


async def _require_visible(session: SessionDep, *, principal: Principal, customer_id: str) -> None:
    stmt = select(Assignment.customer_id).where(
        Assignment.customer_id == customer_id, visible_customers(principal)
    )
    if (await session.scalars(stmt)).first() is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"customer {customer_id} not found")


@router.get("/{customer_id}/state", response_model=CustomerStateOut)
async def customer_state(
    customer_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> CustomerStateOut:
    """The latest five-state snapshot of one of the caller's customers."""
    await _require_visible(session, principal=principal, customer_id=customer_id)
    state = await repository.get_state(session, customer_id=customer_id)
    record(
        session,
        actor=principal.id,
        action="customer.state_read",
        customer_id=customer_id,
        at=request.app.state.clock.now(),
    )
    return CustomerStateOut(
        customer_id=customer_id, snapshot=state.snapshot if state is not None else None
    )


@router.get("/{customer_id}/alerts", response_model=list[AlertOut])
async def customer_alerts(
    customer_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> list[AlertOut]:
    """The customer's full alert history (what a successor sees after a hand-over)."""
    await _require_visible(session, principal=principal, customer_id=customer_id)
    rows = await alerts_repo.history_of_customer(session, customer_id=customer_id)
    record(
        session,
        actor=principal.id,
        action="customer.history_read",
        customer_id=customer_id,
        at=request.app.state.clock.now(),
    )
    return [AlertOut.model_validate(r) for r in rows]
