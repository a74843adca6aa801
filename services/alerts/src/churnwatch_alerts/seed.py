"""Development logins (documented, refused in production): rm.demo, lead.demo and auditor.demo."""

from __future__ import annotations

import hmac

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.auth.passwords import hash_password
from churnwatch_alerts.managers import repository as managers_repo
from churnwatch_alerts.models import Manager, Role
from churnwatch_alerts.settings import DEV_PASSWORD

DEV_TEAM = "team.demo"
DEV_BRANCH = "BR001"

DEV_MANAGERS: tuple[dict[str, str | None], ...] = (
    {"id": "lead.demo", "role": Role.TEAM_LEAD.value, "supervisor_id": None},
    {"id": "rm.demo", "role": Role.RELATIONSHIP_MANAGER.value, "supervisor_id": "lead.demo"},
    {"id": "auditor.demo", "role": Role.AUDITOR.value, "supervisor_id": None},
)
# The accounts this seed creates: a database once used in development keeps them, so production
# refuses them by id, whatever their password has become since.
DEMO_MANAGER_IDS = frozenset(str(spec["id"]) for spec in DEV_MANAGERS)


def is_demo_login(*, manager_id: str, password: str | None = None) -> bool:
    """True for a seeded demo account, or any login that uses the documented dev password."""
    if manager_id in DEMO_MANAGER_IDS:
        return True
    return password is not None and hmac.compare_digest(password.encode(), DEV_PASSWORD.encode())


async def demo_accounts_present(*, sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Ids of seeded demo accounts stored in the database (production warns about them)."""
    async with sessionmaker() as session:
        return await managers_repo.existing_ids(session, manager_ids=DEMO_MANAGER_IDS)


async def seed_dev_managers(*, sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Create the development managers that do not exist yet; returns the ids created."""
    created: list[str] = []
    async with sessionmaker() as session, session.begin():
        for spec in DEV_MANAGERS:
            manager_id = str(spec["id"])
            if await managers_repo.get(session, manager_id=manager_id) is not None:
                continue
            # The auditor belongs to no team or branch: nothing routes customers or alerts to them.
            serves = spec["role"] != Role.AUDITOR.value
            managers_repo.add(
                session,
                manager=Manager(
                    id=manager_id,
                    role=str(spec["role"]),
                    team_id=DEV_TEAM if serves else None,
                    branch_id=DEV_BRANCH if serves else None,
                    supervisor_id=spec["supervisor_id"],
                    password_hash=hash_password(password=DEV_PASSWORD),
                    active=True,
                    channels=[],
                ),
            )
            created.append(manager_id)
    return created
