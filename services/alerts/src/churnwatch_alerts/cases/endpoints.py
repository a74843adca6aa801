"""Case API: /v1/cases (list, search, filters, cursor paging), one case, notes, contacts,
bulk acknowledge, resolve with an outcome, and the lead's scorecard."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from churnwatch_alerts.audit.refusals import audit_refusal
from churnwatch_alerts.auth.dependencies import CurrentPrincipal
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.cases import contacts, lead, service
from churnwatch_alerts.cases.repository import CaseFilters, Order
from churnwatch_alerts.cases.schemas import (
    BulkAckRequest,
    BulkAckResult,
    CaseDetail,
    CasePage,
    CaseResolveRequest,
    CaseStatus,
    ContactRequest,
    EntryOut,
    NoteRequest,
    Scorecard,
)
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import Role
from churnwatch_alerts.playbook import service as playbook_service
from churnwatch_alerts.playbook.endpoints import control_of
from churnwatch_alerts.value import service as value_service
from churnwatch_shared.alerts import Severity

router = APIRouter(prefix="/v1/cases", tags=["cases"])

NOT_FOUND = {"description": "no case of this customer among the caller's (the refusal is audited)"}
LEADS = (Role.TEAM_LEAD, Role.BRANCH_HEAD, Role.ADMIN)
# Reviews shown on the case page: enough for the value trend, the rest stays in /value.
VALUE_HISTORY = 6


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


async def _not_found(
    request: Request, *, principal: Principal, customer_id: str, action: str
) -> HTTPException:
    await audit_refusal(
        request,
        actor=principal.id,
        action=f"{action}_denied",
        customer_id=customer_id[:128],
        detail={"role": principal.role.value},
    )
    return HTTPException(
        status.HTTP_404_NOT_FOUND, detail=f"case of customer {customer_id} not found"
    )


@router.get("", response_model=CasePage)
async def list_cases(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    status_: Annotated[list[CaseStatus] | None, Query(alias="status")] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    manager: Annotated[
        str | None, Query(max_length=140, description="assignee or escalated to")
    ] = None,
    escalated: bool | None = None,
    sla_breached: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="customer id or name")] = None,
    order: Annotated[
        Order | None,
        Query(
            description="priority, or value_at_risk; default value_at_risk for leads, heads "
            "and admins, priority for relationship managers"
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    """The caller's cases in order; follow next_cursor to reach every case."""
    filters = CaseFilters(
        status=[s.value for s in status_ or []],
        severity=[s.value for s in severity or []],
        manager=manager,
        escalated=escalated,
        sla_breached=sla_breached,
        query=q or None,
    )
    try:
        return await service.list_cases(
            session,
            principal=principal,
            filters=filters,
            cursor=cursor,
            limit=limit,
            now=_now(request),
            order=order or ("value_at_risk" if principal.role in LEADS else "priority"),
        )
    except service.BadCursor as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=f"cursor: {exc}") from exc


@router.post("/acknowledge", response_model=BulkAckResult)
async def bulk_acknowledge(
    body: BulkAckRequest, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> BulkAckResult:
    """Acknowledge every open alert of several cases at once."""
    return await service.bulk_acknowledge(
        session,
        principal=principal,
        customer_ids=body.customer_ids,
        note=body.note,
        now=_now(request),
    )


@router.get("/scorecard", response_model=Scorecard)
async def scorecard(
    request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Scorecard:
    """Per manager and team: response time, SLA kept, cases resolved by outcome (leads, heads)."""
    if principal.role not in LEADS:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="team lead, branch head or admin only"
        )
    return await lead.scorecard(
        session,
        principal=principal,
        currency=request.app.state.value_config.currency,
        now=_now(request),
    )


async def _detail(
    request: Request, session: SessionDep, principal: Principal, customer_id: str
) -> CaseDetail:
    """The case with its value reviews and next best actions (each read audited on its own)."""
    now = _now(request)
    detail = await service.case_detail(
        session,
        principal=principal,
        customer_id=customer_id,
        currency=request.app.state.settings.reporting_currency,
        now=now,
        zone=request.app.state.settings.display_zone,
    )
    detail.value = await value_service.customer_value(
        session, principal=principal, customer_id=customer_id, limit=VALUE_HISTORY, now=now
    )
    detail.next_best_action = await playbook_service.suggestions(
        session,
        principal=principal,
        customer_id=customer_id,
        playbook=request.app.state.playbook,
        control=control_of(request),
        marketing=request.app.state.marketing_objections,
        now=now,
    )
    return detail


@router.get("/{customer_id}", response_model=CaseDetail, responses={404: NOT_FOUND})
async def get_case(
    customer_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> CaseDetail:
    """One case: customer 360 header, reasons, evidence, timeline, value, next best actions."""
    try:
        return await _detail(request, session, principal, customer_id)
    except service.CaseNotFound as exc:
        raise await _not_found(
            request, principal=principal, customer_id=customer_id, action="case.read"
        ) from exc


async def _require(
    request: Request, session: SessionDep, principal: Principal, customer_id: str, action: str
) -> None:
    try:
        await service.require_case(
            session, principal=principal, customer_id=customer_id, now=_now(request)
        )
    except service.CaseNotFound as exc:
        raise await _not_found(
            request, principal=principal, customer_id=customer_id, action=action
        ) from exc


@router.post(
    "/{customer_id}/notes", response_model=EntryOut, status_code=201, responses={404: NOT_FOUND}
)
async def add_note(
    customer_id: str,
    body: NoteRequest,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> EntryOut:
    """Add a note to the case (it stays in the timeline)."""
    await _require(request, session, principal, customer_id, "case.note")
    return await contacts.add_note(
        session, principal=principal, customer_id=customer_id, text=body.text, now=_now(request)
    )


@router.post(
    "/{customer_id}/contacts",
    response_model=EntryOut,
    status_code=201,
    responses={
        404: NOT_FOUND,
        503: {"description": "ingest did not accept the contact.logged event"},
    },
)
async def log_contact(
    customer_id: str,
    body: ContactRequest,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> EntryOut:
    """Log a call, visit, meeting or message: sent to ingest as contact.logged, kept in the timeline."""
    await _require(request, session, principal, customer_id, "case.contact")
    try:
        return await contacts.log_contact(
            session,
            principal=principal,
            customer_id=customer_id,
            body=body,
            ingest=request.app.state.ingest,
            now=_now(request),
        )
    except contacts.IngestUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc


@router.post("/{customer_id}/resolve", response_model=CaseDetail, responses={404: NOT_FOUND})
async def resolve_case(
    customer_id: str,
    body: CaseResolveRequest,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> CaseDetail:
    """Resolve every unresolved alert of the case with one explicit outcome (no default)."""
    try:
        await service.resolve_case(
            session,
            principal=principal,
            customer_id=customer_id,
            outcome=body.outcome,
            note=body.note,
            now=_now(request),
        )
        return await _detail(request, session, principal, customer_id)
    except service.CaseNotFound as exc:
        raise await _not_found(
            request, principal=principal, customer_id=customer_id, action="case.resolve"
        ) from exc
