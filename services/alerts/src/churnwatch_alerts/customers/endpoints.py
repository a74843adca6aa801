"""GET /v1/customers/{id}/state, /state/live and /alerts: five states, live state, alert history.

Every read is audited in the request's transaction; a refused read (a customer the caller does not
serve answers 404) is audited in its own transaction, so the rollback of the 404 keeps the row.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, status

from churnwatch_alerts.alerts.schemas import AlertOut
from churnwatch_alerts.audit.refusals import audit_refusal
from churnwatch_alerts.auth.dependencies import CurrentPrincipal
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.customers import service
from churnwatch_alerts.customers.monitor import MonitorUnavailable
from churnwatch_alerts.customers.schemas import CustomerLiveStateOut, CustomerStateOut
from churnwatch_alerts.db import SessionDep

router = APIRouter(prefix="/v1/customers", tags=["customers"])

NOT_FOUND = {"description": "not one of the caller's customers (the refusal is audited)"}


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


async def _require_visible(
    session: SessionDep, request: Request, *, principal: Principal, customer_id: str, action: str
) -> None:
    if not await service.is_visible(session, principal=principal, customer_id=customer_id):
        await audit_refusal(
            request,
            actor=principal.id,
            action=f"{action}_denied",
            customer_id=customer_id,
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
    return await service.stored_state(
        session, principal=principal, customer_id=customer_id, action=action, now=_now(request)
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
        return await service.live_state(
            session,
            monitor=request.app.state.monitor,
            principal=principal,
            customer_id=customer_id,
            action=action,
            clock=request.app.state.clock,
        )
    except MonitorUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"state monitor unavailable: {exc}"
        ) from exc
    except service.NoLiveState as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc


@router.get("/{customer_id}/alerts", response_model=list[AlertOut], responses={404: NOT_FOUND})
async def customer_alerts(
    customer_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> list[AlertOut]:
    """The customer's full alert history (what a successor sees after a hand-over)."""
    action = "customer.history_read"
    await _require_visible(
        session, request, principal=principal, customer_id=customer_id, action=action
    )
    return await service.alert_history(
        session, principal=principal, customer_id=customer_id, action=action, now=_now(request)
    )
