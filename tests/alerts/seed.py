"""Rows for alerts tests that need a chain of managers: a team in a branch and its customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.assignments.service import apply_assigned
from churnwatch_alerts.models import Manager, Role
from tests.alerts.factories import make_assigned


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
