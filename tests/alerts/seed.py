"""Rows for alerts and privacy tests: a customer assigned to a manager, a team in a branch and
its customer, a value review."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.assignments.service import apply_assigned
from churnwatch_alerts.models import Manager, Role, ValueReview
from churnwatch_shared.events import CustomerAssigned
from tests.alerts.factories import make_assigned


async def assign(
    session: AsyncSession,
    *,
    customer_id: str,
    at: datetime,
    manager_id: str = "rm.demo",
    branch_id: str | None = "BR001",
) -> None:
    """``customer_id`` assigned to ``manager_id`` in ``branch_id`` at ``at`` (as intake does)."""
    await apply_assigned(
        session,
        customer_id=customer_id,
        payload=CustomerAssigned(relationship_manager_id=manager_id, branch_id=branch_id),
        occurred_at=at,
        actor="test",
        now=at,
    )


def value_review(*, customer_id: str, at: datetime, period: str | None = None) -> ValueReview:
    """A minimal archived value review of ``customer_id`` (worth 1 EUR, 'maintain'), reviewed at
    ``at`` for ``period`` (default: at's month)."""
    one = Decimal(1)
    return ValueReview(
        customer_id=customer_id,
        period=period or at.strftime("%Y-%m"),
        period_start=at,
        period_end=at,
        reviewed_at=at,
        config_version="v",
        currency="EUR",
        current_value=one,
        cost_to_serve=one,
        income={},
        potential_value=one,
        churn_likelihood=Decimal("0.1"),
        value_at_risk=one,
        lifecycle="mature",
        strategy="maintain",
        reasons=[],
        inputs={},
    )


async def team_customer(
    session: AsyncSession, *, tag: str, branch: str | None, at: datetime
) -> str:
    """rm.<tag> reporting to lead.<tag>, head.<tag> heading ``branch``, and customer C-<tag>
    assigned to the rm at ``at``; returns the customer id."""
    rm, lead, head = f"rm.{tag}", f"lead.{tag}", f"head.{tag}"
    session.add_all(
        [
            Manager(
                id=rm,
                role=Role.RELATIONSHIP_MANAGER.value,
                supervisor_id=lead,
                branch_id=branch,
                channels=[],
            ),
            Manager(id=lead, role=Role.TEAM_LEAD.value, branch_id=branch, channels=[]),
            Manager(id=head, role=Role.BRANCH_HEAD.value, branch_id=branch, channels=[]),
        ]
    )
    customer = f"C-{tag}"
    event = make_assigned(customer_id=customer, at=at, manager_id=rm, branch_id=branch)
    await apply_assigned(
        session, customer_id=customer, payload=event.payload, occurred_at=at, actor="test", now=at
    )
    return customer
