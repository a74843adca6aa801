"""Creating and changing managers (admin), audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.passwords import hash_password
from churnwatch_alerts.managers import repository
from churnwatch_alerts.managers.schemas import ManagerIn
from churnwatch_alerts.models import Manager


async def put_manager(
    session: AsyncSession, *, manager_id: str, body: ManagerIn, actor: str, now: datetime
) -> None:
    """Create or update a manager: role, team, branch, supervisor, channels, optional password."""
    manager = await repository.get(session, manager_id=manager_id) or Manager(id=manager_id)
    manager.role = body.role.value
    manager.team_id = body.team_id
    manager.branch_id = body.branch_id
    manager.supervisor_id = body.supervisor_id
    manager.email = body.email
    manager.webhook_url = body.webhook_url
    manager.channels = body.channels
    manager.low_severity_digest = body.low_severity_digest
    manager.active = body.active
    if body.password is not None:
        manager.password_hash = hash_password(password=body.password)
    repository.add(session, manager=manager)
    record(
        session,
        actor=actor,
        action="manager.updated",
        at=now,
        detail={"manager_id": manager_id, "role": body.role.value},
    )
