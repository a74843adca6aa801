"""Next-best-action API: the playbook, a customer's suggestions and outcomes, the effect report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import AwareDatetime

from churnwatch_alerts.auth.dependencies import CurrentPrincipal
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.playbook import service
from churnwatch_alerts.playbook.config import Playbook
from churnwatch_alerts.playbook.schemas import EffectReport, OutcomeIn, OutcomeOut, SuggestionsOut
from churnwatch_alerts.value.endpoints import NOT_FOUND, now_of, require_visible

router = APIRouter(tags=["next best action"])


def control_of(request: Request) -> service.ControlGroup:
    """The control group as configured (share and salt)."""
    settings = request.app.state.settings
    return service.ControlGroup(
        share=settings.playbook_control_share, salt=settings.playbook_control_salt
    )


def _playbook(request: Request) -> Playbook:
    playbook: Playbook = request.app.state.playbook
    return playbook


@router.get("/v1/playbook")
async def playbook(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """The playbook in force: version and every action with its eligibility conditions."""
    return _playbook(request).model_dump(mode="json")


@router.get(
    "/v1/customers/{customer_id}/suggestions",
    response_model=SuggestionsOut,
    responses={404: NOT_FOUND},
)
async def customer_suggestions(
    customer_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> SuggestionsOut:
    """The next best actions for one of the caller's customers (none in the control group)."""
    action = "customer.suggestions_read"
    await require_visible(
        session, request, principal=principal, customer_id=customer_id, action=action
    )
    return await service.suggestions(
        session,
        principal=principal,
        customer_id=customer_id,
        playbook=_playbook(request),
        control=control_of(request),
        marketing=request.app.state.marketing_objections,
        now=now_of(request),
    )


@router.post(
    "/v1/customers/{customer_id}/suggestions/outcomes",
    response_model=OutcomeOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        404: NOT_FOUND,
        409: {"description": "the customer is in the control group (no suggestions)"},
    },
)
async def record_outcome(
    customer_id: str,
    body: OutcomeIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> OutcomeOut:
    """Record that a suggested action was accepted, declined or done."""
    await require_visible(
        session,
        request,
        principal=principal,
        customer_id=customer_id,
        action="suggestion.outcome",
    )
    try:
        return await service.record_outcome(
            session,
            principal=principal,
            customer_id=customer_id,
            body=body,
            playbook=_playbook(request),
            control=control_of(request),
            now=now_of(request),
        )
    except service.UnknownAction as exc:
        raise HTTPException(
            422,
            detail=[{"loc": ["body", "action"], "msg": str(exc), "type": "value_error"}],
        ) from exc
    except service.ControlCustomer as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc


@router.get("/v1/playbook/report", response_model=EffectReport)
async def effect_report(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    since: Annotated[AwareDatetime | None, Query(description="resolved at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="resolved before")] = None,
) -> EffectReport:
    """Retained rate with suggestions against the control group, over the caller's customers."""
    return await service.effect_report(
        session,
        principal=principal,
        playbook=_playbook(request),
        control=control_of(request),
        since=since,
        until=until,
        now=now_of(request),
    )
