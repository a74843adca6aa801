"""GET /v1/customers/{id}/state, /state/live and /alerts: five states, live state, alert history.

Every read is audited in the request's transaction; a refused read (a customer the caller does not
serve answers 404) is audited in its own transaction, so the rollback of the 404 keeps the row.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel
from sqlalchemy import select

from churnwatch_alerts.access import visible_customers
from churnwatch_alerts.alerts import repository as alerts_repo
from churnwatch_alerts.alerts.schemas import AlertOut
from churnwatch_alerts.audit import record, record_now
from churnwatch_alerts.auth.dependencies import CurrentPrincipal
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.customers import repository
from churnwatch_alerts.customers.monitor import MonitorUnavailable
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import Assignment

router = APIRouter(prefix="/v1/customers", tags=["customers"])

NOT_FOUND = {"description": "not one of the caller's customers (the refusal is audited)"}


class CustomerStateOut(BaseModel):
    customer_id: str
    snapshot: dict[str, Any] | None


class CustomerLiveStateOut(BaseModel):
    customer_id: str
    source: str = "state-monitor"
    state: dict[str, Any]


async def _require_visible(
    session: SessionDep, request: Request, *, principal: Principal, customer_id: str, action: str
) -> None:
    stmt = select(Assignment.customer_id).where(
        Assignment.customer_id == customer_id, visible_customers(principal)
    )
    if (await session.scalars(stmt)).first() is None:
        await record_now(
            request.app.state.sessionmaker,
            actor=principal.id,
            action=f"{action}_denied",
            customer_id=customer_id,
            at=request.app.state.clock.now(),
            detail={"role": principal.role.value},
        )
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"customer {customer_id} not found")


@router.get("/{customer_id}/state", response_model=CustomerStateOut, responses={404: NOT_FOUND})
async def customer_state(
    customer_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> CustomerStateOut:
    """The latest five-state snapshot of one of the caller's customers."""
    action = "customer.state_read"
    await _require_visible(
        session, request, principal=principal, customer_id=customer_id, action=action
    )
    state = await repository.get_state(session, customer_id=customer_id)
    record(
        session,
        actor=principal.id,
        action=action,
        customer_id=customer_id,
        at=request.app.state.clock.now(),
    )
    return CustomerStateOut(
        customer_id=customer_id, snapshot=state.snapshot if state is not None else None
    )


@router.get(
    "/{customer_id}/state/live",
    response_model=CustomerLiveStateOut,
    responses={
        404: NOT_FOUND,
        503: {"description": "the state monitor did not answer, or refused our credential"},
    },
)
async def customer_live_state(
    customer_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> CustomerLiveStateOut:
    """The state monitor's current state of one of the caller's customers (balances, score)."""
    action = "customer.live_state_read"
    await _require_visible(
        session, request, principal=principal, customer_id=customer_id, action=action
    )
    try:
        live = await request.app.state.monitor.state(customer_id=customer_id)
    except MonitorUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"state monitor unavailable: {exc}"
        ) from exc
    if not live.found or live.state is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"the state monitor has no state for customer {customer_id} yet",
        )
    record(
        session,
        actor=principal.id,
        action=action,
        customer_id=customer_id,
        at=request.app.state.clock.now(),
        detail={"worker": live.worker},
    )
    return CustomerLiveStateOut(customer_id=customer_id, state=live.state)


@router.get("/{customer_id}/alerts", response_model=list[AlertOut], responses={404: NOT_FOUND})
async def customer_alerts(
    customer_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> list[AlertOut]:
    """The customer's full alert history (what a successor sees after a hand-over)."""
    action = "customer.history_read"
    await _require_visible(
        session, request, principal=principal, customer_id=customer_id, action=action
    )
    rows = await alerts_repo.history_of_customer(session, customer_id=customer_id)
    record(
        session,
        actor=principal.id,
        action=action,
        customer_id=customer_id,
        at=request.app.state.clock.now(),
    )
    return [AlertOut.model_validate(r) for r in rows]
