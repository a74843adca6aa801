"""Admin API for assignments, and the hand-over API for leads, heads and admins."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from churnwatch_alerts.access import visible_customers
from churnwatch_alerts.assignments import service
from churnwatch_alerts.auth.dependencies import AdminPrincipal, CurrentPrincipal
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.models import Assignment, Role
from churnwatch_shared.events import CustomerAssigned

router = APIRouter(prefix="/v1", tags=["assignments"])


class HandOverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    successor_id: str = Field(min_length=1, max_length=128)
    customer_id: str | None = Field(
        default=None, description="one customer; omit with from_manager_id"
    )
    from_manager_id: str | None = Field(default=None, description="all customers of this manager")


class HandOverResult(BaseModel):
    customers: list[str]
    alerts_moved: int


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
    now = request.app.state.clock.now()
    scope = visible_customers(principal)
    if body.customer_id is not None:
        stmt = select(Assignment.customer_id).where(
            Assignment.customer_id == body.customer_id, scope
        )
        if (await session.scalars(stmt)).first() is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, detail=f"customer {body.customer_id} not found"
            )
        moved = await service.hand_over_customer(
            session,
            customer_id=body.customer_id,
            successor_id=body.successor_id,
            actor=principal.id,
            now=now,
        )
        return HandOverResult(customers=[body.customer_id], alerts_moved=moved)
    assert body.from_manager_id is not None
    hidden = select(Assignment.customer_id).where(
        Assignment.relationship_manager_id == body.from_manager_id, ~scope
    )
    if (await session.scalars(hidden)).first() is not None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"manager {body.from_manager_id} not found"
        )
    customers, moved = await service.hand_over_manager(
        session,
        manager_id=body.from_manager_id,
        successor_id=body.successor_id,
        actor=principal.id,
        now=now,
    )
    return HandOverResult(customers=customers, alerts_moved=moved)
