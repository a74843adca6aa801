"""Admin API for managers: PUT /v1/managers/{id}."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from churnwatch_alerts.auth.dependencies import AdminPrincipal
from churnwatch_alerts.db import SessionDep
from churnwatch_alerts.managers import service
from churnwatch_alerts.managers.schemas import ManagerIn

# The published API groups this route with assignments, as before the managers package existed.
router = APIRouter(prefix="/v1", tags=["assignments"])


@router.put("/managers/{manager_id}", status_code=status.HTTP_204_NO_CONTENT)
async def put_manager(
    manager_id: str,
    body: ManagerIn,
    request: Request,
    session: SessionDep,
    principal: AdminPrincipal,
) -> None:
    """Create or update a manager: role, team, branch, supervisor, channels, optional password."""
    if body.id != manager_id:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, detail="body.id must match the path"
        )
    await service.put_manager(
        session,
        manager_id=manager_id,
        body=body,
        actor=principal.id,
        now=request.app.state.clock.now(),
    )
