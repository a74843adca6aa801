"""Value analysis API: a customer's reviews, value at risk, the book at risk, accuracy.

Lists and sums cover only the caller's customers (access.visible_customers); another manager's
customer answers 404 and the refusal is audited in its own transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from churnwatch_alerts.audit.refusals import audit_refusal
from churnwatch_alerts.auth.dependencies import CurrentPrincipal
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.customers import service as customers_service
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.value import service
from churnwatch_alerts.value.periods import PeriodError
from churnwatch_alerts.value.schemas import AccuracyOut, AtRiskPage, BookOut, CustomerValueOut

router = APIRouter(tags=["value"])

NOT_FOUND = {"description": "not one of the caller's customers (the refusal is audited)"}
PERIOD = Query(
    max_length=16,
    description="YYYY-MM (monthly) or YYYY-Qn (quarterly); default the newest reviewed period",
)


def now_of(request: Request) -> datetime:
    """The app clock's current time."""
    now: datetime = request.app.state.clock.now()
    return now


async def require_visible(
    session: SessionDep, request: Request, *, principal: Principal, customer_id: str, action: str
) -> None:
    """404 (refusal audited at once) unless the caller serves or supervises the customer."""
    if not await customers_service.is_visible(
        session, principal=principal, customer_id=customer_id
    ):
        await audit_refusal(
            request,
            actor=principal.id,
            action=f"{action}_denied",
            customer_id=customer_id[:128],
            detail={"role": principal.role.value},
        )
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"customer {customer_id} not found")


def _bad_period(exc: PeriodError) -> HTTPException:
    return HTTPException(
        422,
        detail=[{"loc": ["query", "period"], "msg": str(exc), "type": "value_error"}],
    )


@router.get(
    "/v1/customers/{customer_id}/value",
    response_model=CustomerValueOut,
    responses={404: NOT_FOUND},
)
async def customer_value(
    customer_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=120)] = 12,
) -> CustomerValueOut:
    """The customer's archived value reviews (newest first) with the inputs each one used."""
    action = "customer.value_read"
    await require_visible(
        session, request, principal=principal, customer_id=customer_id, action=action
    )
    return await service.customer_value(
        session, principal=principal, customer_id=customer_id, limit=limit, now=now_of(request)
    )


@router.get("/v1/value/at-risk", response_model=AtRiskPage)
async def value_at_risk(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    period: Annotated[str | None, PERIOD] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AtRiskPage:
    """The caller's customers by value at risk (churn likelihood x value), highest first."""
    try:
        return await service.at_risk(
            session,
            principal=principal,
            period=period,
            kind=request.app.state.settings.value_period,
            limit=limit,
            offset=offset,
            now=now_of(request),
        )
    except PeriodError as exc:
        raise _bad_period(exc) from exc


@router.get("/v1/value/book", response_model=BookOut)
async def book_at_risk(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    group_by: Annotated[service.GroupBy, Query()] = "manager",
    period: Annotated[str | None, PERIOD] = None,
) -> BookOut:
    """The book at risk per manager, team or branch, over the caller's customers."""
    try:
        return await service.book_at_risk(
            session,
            principal=principal,
            period=period,
            kind=request.app.state.settings.value_period,
            group_by=group_by,
            config=request.app.state.value_config,
            now=now_of(request),
        )
    except PeriodError as exc:
        raise _bad_period(exc) from exc


@router.get("/v1/value/accuracy", response_model=AccuracyOut)
async def accuracy(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    periods: Annotated[int, Query(ge=1, le=36)] = 12,
) -> AccuracyOut:
    """Per period: the predicted next-period value against what the next review found."""
    return await service.accuracy_report(
        session,
        principal=principal,
        kind=request.app.state.settings.value_period,
        periods=periods,
        currency=request.app.state.value_config.currency,
        now=now_of(request),
    )
