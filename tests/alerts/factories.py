"""Builders of wire objects for alerts tests (the shared contracts, not ORM rows)."""

from __future__ import annotations

from datetime import datetime, timedelta

from churnwatch_shared.alerts import (
    Alert,
    AlertKind,
    CustomerStateName,
    Reason,
    Severity,
    alert_id_for,
)
from churnwatch_shared.events import CustomerAssigned, CustomerAssignedEvent, EventType

RULE = "account_flow.large_interbank_outflow"


def make_alert(
    *,
    customer_id: str,
    at: datetime,
    severity: Severity = Severity.WARNING,
    priority: int = 60,
    condition_key: str = "ev-1",
    rule_id: str = RULE,
    branch_id: str | None = None,
) -> Alert:
    """A valid alert as the state monitor would emit it."""
    return Alert(
        alert_id=alert_id_for(
            customer_id=customer_id, rule_id=rule_id, condition_key=condition_key
        ),
        kind=AlertKind.ANOMALY,
        customer_id=customer_id,
        state=CustomerStateName.ACCOUNT_FLOW,
        rule_id=rule_id,
        severity=severity,
        priority=priority,
        title="Large transfer to another bank",
        reasons=[
            Reason(
                code="interbank_outflow_share",
                state=CustomerStateName.ACCOUNT_FLOW,
                text="one outbound interbank transfer took most of the balance",
                observed=0.8,
                baseline=0.5,
                window="event",
            )
        ],
        evidence_event_ids=[condition_key],
        ruleset_version="test-1",
        occurred_at=at - timedelta(seconds=5),
        detected_at=at,
        branch_id=branch_id,
    )


def make_assigned(
    *,
    customer_id: str,
    at: datetime,
    manager_id: str | None,
    branch_id: str | None = "BR001",
    wealth_advisor_id: str | None = None,
    event_id: str = "assign-1",
) -> CustomerAssignedEvent:
    """A customer.assigned event."""
    return CustomerAssignedEvent(
        event_type=EventType.CUSTOMER_ASSIGNED.value,
        event_id=event_id,
        occurred_at=at,
        customer_id=customer_id,
        payload=CustomerAssigned(
            relationship_manager_id=manager_id,
            wealth_advisor_id=wealth_advisor_id,
            branch_id=branch_id,
        ),
    )
