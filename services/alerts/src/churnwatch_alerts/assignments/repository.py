"""Queries on assignments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import Assignment


async def get(session: AsyncSession, *, customer_id: str) -> Assignment | None:
    """The customer's assignment, or None (from the session's identity map when loaded)."""
    return await session.get(Assignment, customer_id)


async def of_customers(
    session: AsyncSession, *, customer_ids: Sequence[str]
) -> dict[str, Assignment]:
    """The stored assignments of these customers, by customer id, in one query."""
    stmt = select(Assignment).where(Assignment.customer_id.in_(customer_ids))
    return {a.customer_id: a for a in await session.scalars(stmt)}


async def get_or_new(session: AsyncSession, *, customer_id: str) -> tuple[Assignment, bool]:
    """The customer's assignment row (locked for update), or a new unsaved one; (row, is_new)."""
    stmt = select(Assignment).where(Assignment.customer_id == customer_id).with_for_update()
    row = (await session.scalars(stmt)).one_or_none()
    if row is not None:
        return row, False
    row = Assignment(customer_id=customer_id)
    session.add(row)
    return row, True


async def customers_of_manager(session: AsyncSession, *, manager_id: str) -> list[Assignment]:
    """Every assignment whose relationship manager is ``manager_id``."""
    stmt = (
        select(Assignment)
        .where(Assignment.relationship_manager_id == manager_id)
        .with_for_update()
        .order_by(Assignment.customer_id)
    )
    return list((await session.scalars(stmt)).all())


async def customer_ids_of_manager(session: AsyncSession, *, manager_id: str) -> list[str]:
    """Ids of the customers whose relationship manager is ``manager_id`` (no row locks)."""
    stmt = select(Assignment.customer_id).where(Assignment.relationship_manager_id == manager_id)
    return list((await session.scalars(stmt)).all())


async def is_visible(
    session: AsyncSession, *, customer_id: str, scope: ColumnElement[bool]
) -> bool:
    """Whether the customer has an assignment inside ``scope`` (see ``access``)."""
    stmt = select(Assignment.customer_id).where(Assignment.customer_id == customer_id, scope)
    return (await session.scalars(stmt)).first() is not None


async def serves_hidden_customers(
    session: AsyncSession, *, manager_id: str, scope: ColumnElement[bool]
) -> bool:
    """Whether the manager is relationship manager of any customer outside ``scope``."""
    stmt = select(Assignment.customer_id).where(
        Assignment.relationship_manager_id == manager_id, ~scope
    )
    return (await session.scalars(stmt)).first() is not None
