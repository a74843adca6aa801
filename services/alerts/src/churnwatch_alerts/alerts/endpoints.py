"""Manager API on alerts: /v1/alerts, /v1/alerts/{id}, ack, snooze, resolve, precision."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from churnwatch_alerts.alerts import service
from churnwatch_alerts.alerts.repository import AlertFilters
from churnwatch_alerts.alerts.schemas import (
    AckRequest,
    AlertDetail,
    AlertOut,
    AlertPage,
    ResolveRequest,
    RulePrecision,
    SnoozeRequest,
)
from churnwatch_alerts.audit.refusals import audit_refusal
from churnwatch_alerts.auth.dependencies import CurrentPrincipal
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import AlertStatus
from churnwatch_shared.alerts import CustomerStateName, Severity

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

# Paging deeper than this is of no use to a person; unbounded, an offset past 2**63 - 1
# overflowed the database's 64-bit OFFSET and answered 500. Beyond the range: a 422 naming it.
MAX_OFFSET = 1_000_000
MAX_LIMIT = 200

NOT_FOUND = {"description": "no such alert, or not one of the caller's customers (audited)"}


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


async def _not_found(
    request: Request, *, principal: Principal, alert_id: str, action: str
) -> HTTPException:
    """A 404 for an alert the caller may not see, its refusal audited in its own transaction."""
    await audit_refusal(
        request,
        actor=principal.id,
        action=f"{action}_denied",
        alert_id=alert_id[:64],
        detail={"role": principal.role.value},
    )
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"alert {alert_id} not found")


@router.get("", response_model=AlertPage)
async def list_alerts(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    status_: Annotated[list[AlertStatus] | None, Query(alias="status")] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    state: Annotated[list[CustomerStateName] | None, Query()] = None,
    rule_id: Annotated[str | None, Query(max_length=64)] = None,
    customer_id: Annotated[str | None, Query(max_length=128)] = None,
    assigned_to: Annotated[str | None, Query(max_length=140)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AlertPage:
    """The caller's alerts (team/branch for leads and heads), highest priority first."""
    filters = AlertFilters(
        status=[s.value for s in status_ or []],
        severity=[s.value for s in severity or []],
        state=[s.value for s in state or []],
        rule_id=rule_id,
        customer_id=customer_id,
        assigned_to=assigned_to,
    )
    return await service.list_alerts(
        session, principal=principal, filters=filters, limit=limit, offset=offset, now=_now(request)
    )


@router.get("/precision", response_model=list[RulePrecision])
async def precision(
    request: Request, session: SessionDep, principal: CurrentPrincipal
) -> list[RulePrecision]:
    """Precision per rule from the outcomes of resolved alerts the caller can see."""
    return await service.precision_by_rule(session, principal=principal, now=_now(request))


@router.get("/{alert_id}", response_model=AlertDetail, responses={404: NOT_FOUND})
async def get_alert(
    alert_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> AlertDetail:
    """One alert with its evidence and the customer's five-state snapshot."""
    try:
        return await service.get_alert(
            session,
            principal=principal,
            alert_id=alert_id,
            now=_now(request),
            currency=request.app.state.settings.reporting_currency,
            zone=request.app.state.settings.display_zone,
        )
    except service.AlertNotFound as exc:
        raise await _not_found(
            request, principal=principal, alert_id=alert_id, action="alert.read"
        ) from exc


async def _act(
    coro: Awaitable[AlertOut], request: Request, principal: Principal, action: str
) -> AlertOut:
    try:
        return await coro
    except service.AlertNotFound as exc:
        raise await _not_found(
            request, principal=principal, alert_id=str(exc), action=action
        ) from exc
    except service.InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc


@router.post("/{alert_id}/ack", response_model=AlertOut, responses={404: NOT_FOUND})
async def ack(
    alert_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: AckRequest | None = None,
) -> AlertOut:
    """Acknowledge the alert (stops escalation)."""
    return await _act(
        service.acknowledge(
            session,
            principal=principal,
            alert_id=alert_id,
            note=body.note if body else None,
            now=_now(request),
        ),
        request,
        principal,
        "alert.ack",
    )


@router.post("/{alert_id}/snooze", response_model=AlertOut, responses={404: NOT_FOUND})
async def snooze(
    alert_id: str,
    body: SnoozeRequest,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> AlertOut:
    """Snooze until a time; the alert reopens then."""
    return await _act(
        service.snooze(
            session,
            principal=principal,
            alert_id=alert_id,
            until=body.until,
            note=body.note,
            now=_now(request),
        ),
        request,
        principal,
        "alert.snooze",
    )


@router.post("/{alert_id}/resolve", response_model=AlertOut, responses={404: NOT_FOUND})
async def resolve(
    alert_id: str,
    body: ResolveRequest,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> AlertOut:
    """Resolve with an outcome and a note."""
    return await _act(
        service.resolve(
            session,
            principal=principal,
            alert_id=alert_id,
            outcome=body.outcome,
            note=body.note,
            now=_now(request),
        ),
        request,
        principal,
        "alert.resolve",
    )
