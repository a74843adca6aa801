"""Every query on the managers table."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import Manager, Role


async def get(session: AsyncSession, *, manager_id: str) -> Manager | None:
    """One manager by id (from the session's identity map when already loaded)."""
    return await session.get(Manager, manager_id)


async def by_ids(session: AsyncSession, *, manager_ids: Iterable[str]) -> dict[str, Manager]:
    """The managers among ``manager_ids`` that exist, by id, in one query."""
    ids = sorted(set(manager_ids))
    if not ids:
        return {}
    rows = await session.scalars(select(Manager).where(Manager.id.in_(ids)))
    return {m.id: m for m in rows}


async def existing_ids(session: AsyncSession, *, manager_ids: Iterable[str]) -> list[str]:
    """Which of ``manager_ids`` are stored, sorted."""
    stmt = select(Manager.id).where(Manager.id.in_(sorted(set(manager_ids))))
    return sorted((await session.scalars(stmt)).all())


async def branch_head(session: AsyncSession, *, branch_id: str | None) -> str | None:
    """The id of the branch's active head (the first by id when there are several), or None."""
    if not branch_id:
        return None
    stmt = (
        select(Manager.id)
        .where(
            Manager.role == Role.BRANCH_HEAD.value, Manager.branch_id == branch_id, Manager.active
        )
        .order_by(Manager.id)
    )
    return (await session.scalars(stmt)).first()


def add(session: AsyncSession, *, manager: Manager) -> None:
    """Stage a new or changed manager; the request's transaction writes it."""
    session.add(manager)
