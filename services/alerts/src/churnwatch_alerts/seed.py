"""Development logins (documented, refused in production): rm.demo and lead.demo."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.auth.passwords import hash_password
from churnwatch_alerts.models import Manager, Role
from churnwatch_alerts.settings import DEV_PASSWORD

DEV_TEAM = "team.demo"
DEV_BRANCH = "BR001"

DEV_MANAGERS: tuple[dict[str, str | None], ...] = (
    {"id": "lead.demo", "role": Role.TEAM_LEAD.value, "supervisor_id": None},
    {"id": "rm.demo", "role": Role.RELATIONSHIP_MANAGER.value, "supervisor_id": "lead.demo"},
)


async def seed_dev_managers(*, sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Create the development managers that do not exist yet; returns the ids created."""
    created: list[str] = []
    async with sessionmaker() as session, session.begin():
        for spec in DEV_MANAGERS:
            manager_id = str(spec["id"])
            if await session.get(Manager, manager_id) is not None:
                continue
            session.add(
                Manager(
                    id=manager_id,
                    role=str(spec["role"]),
                    team_id=DEV_TEAM,
                    branch_id=DEV_BRANCH,
                    supervisor_id=spec["supervisor_id"],
                    password_hash=hash_password(password=DEV_PASSWORD),
                    active=True,
                    channels=[],
                )
            )
            created.append(manager_id)
    return created
