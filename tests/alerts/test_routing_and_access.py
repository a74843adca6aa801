"""Intake storage, routing, hand-over and access control against the real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.alerts import service
from churnwatch_alerts.alerts.repository import AlertFilters
from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.assignments.service import apply_assigned, hand_over_manager
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.models import AlertRecord, AuditEntry, Manager, Outcome, Role
from churnwatch_alerts.settings import DEFAULT_SLA_SECONDS
from churnwatch_shared.alerts import Severity
from tests.alerts.conftest import T0
from tests.alerts.factories import make_alert, make_assigned

pytestmark = pytest.mark.integration


def _cust() -> str:
    return f"C-{uuid.uuid4().hex[:8]}"


async def _assign(session: AsyncSession, customer: str, manager: str | None, **kw: object) -> None:
    event = make_assigned(customer_id=customer, at=T0, manager_id=manager, **kw)  # type: ignore[arg-type]
    await apply_assigned(
        session,
        customer_id=customer,
        payload=event.payload,
        occurred_at=event.occurred_at,
        actor="system:intake",
        now=T0,
    )


async def _store(session: AsyncSession, alert: object) -> bool:
    return await store_alert(session, alert=alert, now=T0, sla_seconds=DEFAULT_SLA_SECONDS)  # type: ignore[arg-type]


async def _list(session: AsyncSession, principal: Principal) -> list[str]:
    page = await service.list_alerts(
        session, principal=principal, filters=AlertFilters(), limit=50, offset=0, now=T0
    )
    return [item.id for item in page.items]


async def test_alert_goes_to_relationship_manager_and_replay_changes_nothing(
    session: AsyncSession,
) -> None:
    customer = _cust()
    await _assign(session, customer, "rm.alpha")
    alert = make_alert(customer_id=customer, at=T0)
    assert await _store(session, alert) is True
    assert await _store(session, alert) is False
    count = await session.scalar(select(func.count()).where(AlertRecord.customer_id == customer))
    assert count == 1
    stored = await session.get(AlertRecord, alert.alert_id)
    assert stored is not None and stored.assigned_to == "rm.alpha"
    assert stored.escalate_at == T0 + timedelta(seconds=DEFAULT_SLA_SECONDS[Severity.WARNING])


async def test_unassigned_customer_goes_to_branch_queue_then_follows_assignment(
    session: AsyncSession,
) -> None:
    customer = _cust()
    alert = make_alert(customer_id=customer, at=T0, branch_id="BR777")
    await _store(session, alert)
    stored = await session.get(AlertRecord, alert.alert_id)
    assert stored is not None and stored.assigned_to == "branch:BR777"
    orphan = make_alert(customer_id=_cust(), at=T0)
    await _store(session, orphan)
    assert (await session.get(AlertRecord, orphan.alert_id)).assigned_to == "queue:unassigned"  # type: ignore[union-attr]

    await _assign(session, customer, "rm.late")
    await session.refresh(stored)
    assert stored.assigned_to == "rm.late"


async def test_manager_sees_only_own_customers_and_other_gets_not_found(
    session: AsyncSession,
) -> None:
    mine, theirs = _cust(), _cust()
    await _assign(session, mine, "rm.one")
    await _assign(session, theirs, "rm.two")
    my_alert = make_alert(customer_id=mine, at=T0, priority=40)
    urgent = make_alert(customer_id=mine, at=T0, priority=90, condition_key="ev-2")
    their_alert = make_alert(customer_id=theirs, at=T0)
    for a in (my_alert, urgent, their_alert):
        await _store(session, a)
    one = Principal(id="rm.one", role=Role.RELATIONSHIP_MANAGER)
    two = Principal(id="rm.two", role=Role.RELATIONSHIP_MANAGER)

    assert await _list(session, one) == [urgent.alert_id, my_alert.alert_id]
    assert await _list(session, two) == [their_alert.alert_id]
    with pytest.raises(service.AlertNotFound):
        await service.get_alert(session, principal=two, alert_id=my_alert.alert_id, now=T0)
    with pytest.raises(service.AlertNotFound):
        await service.acknowledge(
            session, principal=two, alert_id=my_alert.alert_id, note=None, now=T0
        )
    detail = await service.get_alert(session, principal=one, alert_id=my_alert.alert_id, now=T0)
    assert detail.evidence["alert_id"] == my_alert.alert_id
    reads = await session.scalar(
        select(func.count()).where(
            AuditEntry.actor == "rm.one",
            AuditEntry.action == "alert.read",
            AuditEntry.alert_id == my_alert.alert_id,
        )
    )
    assert reads == 1


async def test_team_lead_sees_team_and_branch_head_sees_branch(session: AsyncSession) -> None:
    team, branch = f"team-{uuid.uuid4().hex[:6]}", f"BR-{uuid.uuid4().hex[:6]}"
    session.add_all(
        [
            Manager(
                id=f"{team}.rm", role=Role.RELATIONSHIP_MANAGER.value, team_id=team, channels=[]
            ),
            Manager(id=f"{team}.lead", role=Role.TEAM_LEAD.value, team_id=team, channels=[]),
        ]
    )
    inside, outside = _cust(), _cust()
    await _assign(session, inside, f"{team}.rm", branch_id=branch)
    await _assign(session, outside, "rm.elsewhere", branch_id="BR-other")
    a_in = make_alert(customer_id=inside, at=T0)
    a_out = make_alert(customer_id=outside, at=T0)
    await _store(session, a_in)
    await _store(session, a_out)

    lead = Principal(id=f"{team}.lead", role=Role.TEAM_LEAD, team_id=team)
    head = Principal(id="head.x", role=Role.BRANCH_HEAD, branch_id=branch)
    assert await _list(session, lead) == [a_in.alert_id]
    assert await _list(session, head) == [a_in.alert_id]


async def test_hand_over_moves_open_alerts_and_keeps_history(session: AsyncSession) -> None:
    c1, c2 = _cust(), _cust()
    await _assign(session, c1, "rm.leaving")
    await _assign(session, c2, "rm.leaving")
    old = make_alert(customer_id=c1, at=T0, condition_key="old")
    fresh = make_alert(customer_id=c1, at=T0, condition_key="fresh")
    other = make_alert(customer_id=c2, at=T0)
    for a in (old, fresh, other):
        await _store(session, a)
    leaving = Principal(id="rm.leaving", role=Role.RELATIONSHIP_MANAGER)
    await service.resolve(
        session,
        principal=leaving,
        alert_id=old.alert_id,
        outcome=Outcome.RETAINED,
        note="called",
        now=T0,
    )

    customers, moved = await hand_over_manager(
        session, manager_id="rm.leaving", successor_id="rm.successor", actor="admin.x", now=T0
    )
    assert sorted(customers) == sorted([c1, c2])
    assert moved == 2
    successor = Principal(id="rm.successor", role=Role.RELATIONSHIP_MANAGER)
    assert set(await _list(session, successor)) == {old.alert_id, fresh.alert_id, other.alert_id}
    assert await _list(session, leaving) == []
    audit = await session.scalar(
        select(func.count()).where(
            AuditEntry.action == "manager.handed_over", AuditEntry.actor == "admin.x"
        )
    )
    assert audit == 1


async def test_workflow_transitions_and_precision(session: AsyncSession) -> None:
    customer = _cust()
    await _assign(session, customer, "rm.flow")
    me = Principal(id="rm.flow", role=Role.RELATIONSHIP_MANAGER)
    alerts = [
        make_alert(customer_id=customer, at=T0, condition_key=f"k{i}", rule_id="rule.flow")
        for i in range(3)
    ]
    for a in alerts:
        await _store(session, a)
    acked = await service.acknowledge(
        session, principal=me, alert_id=alerts[0].alert_id, note=None, now=T0
    )
    assert acked.status == "acknowledged" and acked.acknowledged_by == "rm.flow"
    snoozed = await service.snooze(
        session,
        principal=me,
        alert_id=alerts[1].alert_id,
        until=T0 + timedelta(hours=1),
        note="after lunch",
        now=T0,
    )
    assert snoozed.status == "snoozed"
    for a, outcome in zip(
        alerts, [Outcome.RETAINED, Outcome.FALSE_POSITIVE, Outcome.NOT_ACTIONABLE], strict=False
    ):
        await service.resolve(
            session, principal=me, alert_id=a.alert_id, outcome=outcome, note="n", now=T0
        )
    with pytest.raises(service.InvalidTransition):
        await service.resolve(
            session,
            principal=me,
            alert_id=alerts[0].alert_id,
            outcome=Outcome.LOST,
            note=None,
            now=T0,
        )
    [rule] = [
        r
        for r in await service.precision_by_rule(session, principal=me, now=T0)
        if r.rule_id == "rule.flow"
    ]
    assert rule.resolved == 3
    assert rule.precision == pytest.approx(0.5)
