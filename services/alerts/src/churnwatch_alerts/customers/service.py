"""Reading a customer's states and alert history; every read audited in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.access import visible_customers
from churnwatch_alerts.alerts import repository as alerts_repo
from churnwatch_alerts.alerts.schemas import AlertOut
from churnwatch_alerts.assignments import repository as assignments_repo
from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.clock import Clock
from churnwatch_alerts.customers import repository
from churnwatch_alerts.customers.monitor import MonitorClient
from churnwatch_alerts.customers.schemas import CustomerLiveStateOut, CustomerStateOut


class NoLiveState(Exception):
    """The state monitor holds no state for the customer yet."""


async def is_visible(session: AsyncSession, *, principal: Principal, customer_id: str) -> bool:
    """Whether the caller serves or supervises the customer."""
    return await assignments_repo.is_visible(
        session, customer_id=customer_id, scope=visible_customers(principal)
    )


async def stored_state(
    session: AsyncSession, *, principal: Principal, customer_id: str, action: str, now: datetime
) -> CustomerStateOut:
    """The latest five-state snapshot stored for the customer (None before the first one)."""
    state = await repository.get_state(session, customer_id=customer_id)
    record(session, actor=principal.id, action=action, customer_id=customer_id, at=now)
    return CustomerStateOut(
        customer_id=customer_id, snapshot=state.snapshot if state is not None else None
    )


async def live_state(
    session: AsyncSession,
    *,
    monitor: MonitorClient,
    principal: Principal,
    customer_id: str,
    action: str,
    clock: Clock,
) -> CustomerLiveStateOut:
    """The state monitor's current state; raises MonitorUnavailable or NoLiveState."""
    live = await monitor.state(customer_id=customer_id)
    if not live.found or live.state is None:
        raise NoLiveState(f"the state monitor has no state for customer {customer_id} yet")
    record(
        session,
        actor=principal.id,
        action=action,
        customer_id=customer_id,
        # Read after the monitor answered: the monitor call may take up to its timeout.
        at=clock.now(),
        detail={"worker": live.worker},
    )
    return CustomerLiveStateOut(customer_id=customer_id, state=live.state)


async def alert_history(
    session: AsyncSession, *, principal: Principal, customer_id: str, action: str, now: datetime
) -> list[AlertOut]:
    """The customer's full alert history, newest first."""
    rows = await alerts_repo.history_of_customer(session, customer_id=customer_id)
    record(session, actor=principal.id, action=action, customer_id=customer_id, at=now)
    return [AlertOut.model_validate(r) for r in rows]
