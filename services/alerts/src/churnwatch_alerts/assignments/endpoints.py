"""Admin API for assignments, and the hand-over API for leads, heads and admins."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from churnwatch_alerts.assignments import service
from churnwatch_alerts.assignments.schemas import HandOverRequest, HandOverResult
from churnwatch_alerts.auth.dependencies import AdminPrincipal, CurrentPrincipal
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import Role
from churnwatch_shared.events import CustomerAssigned

router = APIRouter(prefix="/v1", tags=["assignments"])


@router.put("/assignments/{customer_id}", status_code=status.HTTP_204_NO_CONTENT)
async def put_assignment(
    customer_id: str,
    body: CustomerAssigned,
    request: Request,
    session: SessionDep,
    principal: AdminPrincipal,
) -> None:
    """Set a customer's "1+1+N" team (admin); open alerts follow the relationship manager."""
    now = request.app.state.clock.now()
    await service.apply_assigned(
        session, customer_id=customer_id, payload=body, occurred_at=now, actor=principal.id, now=now
    )


@router.post("/handovers", response_model=HandOverResult)
async def hand_over(
    body: HandOverRequest, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> HandOverResult:
    """Reassign one customer, or all customers of a manager, with their open alerts."""
    if principal.role not in (Role.ADMIN, Role.TEAM_LEAD, Role.BRANCH_HEAD):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="team lead, branch head or admin only"
        )
    if (body.customer_id is None) == (body.from_manager_id is None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            detail="give exactly one of customer_id or from_manager_id",
        )
    try:
        return await service.hand_over(
            session,
            principal=principal,
            customer_id=body.customer_id,
            from_manager_id=body.from_manager_id,
            successor_id=body.successor_id,
            now=request.app.state.clock.now(),
        )
    except service.NotVisible as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except service.InvalidSuccessor as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc
