"""Keeping assignments current and handing customers (with their open alerts) to a successor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.access import visible_customers
from churnwatch_alerts.alerts import repository as alerts_repo
from churnwatch_alerts.assignments import repository
from churnwatch_alerts.assignments.schemas import HandOverResult
from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.customers.locks import lock_customers
from churnwatch_alerts.models import Assignment, Manager, Role
from churnwatch_alerts.notifications import outbox
from churnwatch_alerts.routing import route_target
from churnwatch_shared.events import CustomerAssigned, CustomerProfile


class NotVisible(Exception):
    """A customer or manager outside the caller's scope (answers 404, as if missing)."""


async def _move_open_alerts(
    session: AsyncSession, *, assignment: Assignment, actor: str, now: datetime, reason: str
) -> int:
    """Route the customer's unresolved alerts to the current target; audit and notify the move."""
    target = route_target(assignment=assignment)
    moving = [
        a
        for a in await alerts_repo.open_alerts_of_customer(
            session, customer_id=assignment.customer_id
        )
        if a.assigned_to != target
    ]
    for alert in moving:
        previous = alert.assigned_to
        alert.assigned_to = target
        alert.updated_at = now
        record(
            session,
            actor=actor,
            action="alert.handed_over",
            at=now,
            customer_id=alert.customer_id,
            alert_id=alert.id,
            detail={"from": previous, "to": target, "reason": reason},
        )
        await outbox.enqueue(
            session,
            alert=alert,
            recipients=[target],
            event="alert.handed_over",
            key=f"handover:{alert.id}:{target}:{now.isoformat()}",
            now=now,
        )
    return len(moving)


async def apply_assigned(
    session: AsyncSession,
    *,
    customer_id: str,
    payload: CustomerAssigned,
    occurred_at: datetime,
    actor: str,
    now: datetime,
) -> bool:
    """Apply a customer.assigned event (or admin change); an older or identical one changes nothing.

    The event states the whole "1+1+N" team; a missing branch keeps the branch known from the
    customer's profile.
    """
    await lock_customers(session, customer_ids=[customer_id])
    row, is_new = await repository.get_or_new(session, customer_id=customer_id)
    if row.assigned_at is not None and occurred_at < row.assigned_at:
        return False
    before = (
        row.relationship_manager_id,
        row.wealth_advisor_id,
        row.service_team_id,
        row.branch_id,
    )
    row.relationship_manager_id = payload.relationship_manager_id
    row.wealth_advisor_id = payload.wealth_advisor_id
    row.service_team_id = payload.service_team_id
    row.branch_id = payload.branch_id or row.branch_id
    row.assigned_at = occurred_at
    row.updated_at = now
    after = (row.relationship_manager_id, row.wealth_advisor_id, row.service_team_id, row.branch_id)
    if after == before and not is_new:
        return False
    record(
        session,
        actor=actor,
        action="customer.assigned",
        at=now,
        customer_id=customer_id,
        detail={
            "relationship_manager_id": row.relationship_manager_id,
            "previous_relationship_manager_id": before[0],
            "wealth_advisor_id": row.wealth_advisor_id,
            "service_team_id": row.service_team_id,
            "branch_id": row.branch_id,
        },
    )
    await session.flush()
    await _move_open_alerts(session, assignment=row, actor=actor, now=now, reason="assignment")
    return True


async def apply_profile(
    session: AsyncSession, *, customer_id: str, payload: CustomerProfile, now: datetime
) -> None:
    """Keep tier, segment and branch from customer.profile (branch routes unassigned customers)."""
    await lock_customers(session, customer_ids=[customer_id])
    row, _ = await repository.get_or_new(session, customer_id=customer_id)
    row.tier = payload.tier.value
    row.segment = payload.segment.value
    # A profile without a name or start date keeps what an earlier one said.
    row.display_name = payload.display_name or row.display_name
    row.customer_since = payload.customer_since or row.customer_since
    branch_changed = row.branch_id != payload.branch_id
    row.branch_id = payload.branch_id
    row.updated_at = now
    if branch_changed and not row.relationship_manager_id:
        await session.flush()
        await _move_open_alerts(
            session, assignment=row, actor="system:intake", now=now, reason="branch"
        )


async def hand_over_customer(
    session: AsyncSession, *, customer_id: str, successor_id: str, actor: str, now: datetime
) -> int:
    """Give one customer a new relationship manager; returns how many open alerts moved."""
    await lock_customers(session, customer_ids=[customer_id])
    row, _ = await repository.get_or_new(session, customer_id=customer_id)
    previous = row.relationship_manager_id
    row.relationship_manager_id = successor_id
    row.assigned_at = now
    row.updated_at = now
    record(
        session,
        actor=actor,
        action="customer.handed_over",
        at=now,
        customer_id=customer_id,
        detail={"from": previous, "to": successor_id},
    )
    await session.flush()
    return await _move_open_alerts(
        session, assignment=row, actor=actor, now=now, reason="hand-over"
    )


async def hand_over_manager(
    session: AsyncSession, *, manager_id: str, successor_id: str, actor: str, now: datetime
) -> tuple[list[str], int]:
    """Give all customers of a departing manager to a successor; (customer ids, alerts moved)."""
    moved_alerts = 0
    customers: list[str] = []
    # Customer locks before row locks, the order every intake transaction uses.
    await lock_customers(
        session,
        customer_ids=await repository.customer_ids_of_manager(session, manager_id=manager_id),
    )
    for row in await repository.customers_of_manager(session, manager_id=manager_id):
        customers.append(row.customer_id)
        moved_alerts += await hand_over_customer(
            session, customer_id=row.customer_id, successor_id=successor_id, actor=actor, now=now
        )
    record(
        session,
        actor=actor,
        action="manager.handed_over",
        at=now,
        detail={"from": manager_id, "to": successor_id, "customers": len(customers)},
    )
    return customers, moved_alerts


class InvalidSuccessor(Exception):
    """The successor is not an active manager the caller may hand customers to."""


SUCCESSOR_ROLES = (Role.RELATIONSHIP_MANAGER.value, Role.TEAM_LEAD.value, Role.BRANCH_HEAD.value)


async def _check_successor(
    session: AsyncSession, *, principal: Principal, successor_id: str
) -> None:
    """A successor must exist, be active, serve customers, and sit in the caller's team/branch."""
    successor = await session.get(Manager, successor_id)
    if successor is None or not successor.active:
        raise InvalidSuccessor(f"successor_id {successor_id!r}: no active manager with this id")
    if successor.role not in SUCCESSOR_ROLES:
        raise InvalidSuccessor(
            f"successor_id {successor_id!r}: role {successor.role} serves no customers; "
            f"accepted roles: {', '.join(SUCCESSOR_ROLES)}"
        )
    if principal.role is Role.TEAM_LEAD and successor.team_id != principal.team_id:
        raise InvalidSuccessor(
            f"successor_id {successor_id!r}: not in your team {principal.team_id}"
        )
    if principal.role is Role.BRANCH_HEAD and successor.branch_id != principal.branch_id:
        raise InvalidSuccessor(
            f"successor_id {successor_id!r}: not in your branch {principal.branch_id}"
        )


async def hand_over(
    session: AsyncSession,
    *,
    principal: Principal,
    customer_id: str | None,
    from_manager_id: str | None,
    successor_id: str,
    now: datetime,
) -> HandOverResult:
    """Hand one visible customer, or every customer of a manager the caller fully sees, over."""
    await _check_successor(session, principal=principal, successor_id=successor_id)
    scope = visible_customers(principal)
    if customer_id is not None:
        if not await repository.is_visible(session, customer_id=customer_id, scope=scope):
            raise NotVisible(f"customer {customer_id} not found")
        moved = await hand_over_customer(
            session, customer_id=customer_id, successor_id=successor_id, actor=principal.id, now=now
        )
        return HandOverResult(customers=[customer_id], alerts_moved=moved)
    assert from_manager_id is not None
    if await repository.serves_hidden_customers(session, manager_id=from_manager_id, scope=scope):
        raise NotVisible(f"manager {from_manager_id} not found")
    customers, moved = await hand_over_manager(
        session, manager_id=from_manager_id, successor_id=successor_id, actor=principal.id, now=now
    )
    return HandOverResult(customers=customers, alerts_moved=moved)
