"""Where an alert goes and when it climbs: owner, copies of a critical alert, SLA deadline.

Intake, hand-over and escalation all decide with these functions, so a routing rule has one home.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from churnwatch_alerts.calendar import BusinessCalendar
from churnwatch_alerts.models import Assignment, Manager
from churnwatch_alerts.models.alert import UNASSIGNED_QUEUE, branch_queue
from churnwatch_shared.alerts import Severity


def route_target(*, assignment: Assignment | None, branch_hint: str | None = None) -> str:
    """The relationship manager; else the branch queue; else the unassigned queue."""
    if assignment is not None and assignment.relationship_manager_id:
        return assignment.relationship_manager_id
    branch = (assignment.branch_id if assignment is not None else None) or branch_hint
    if branch:
        return branch_queue(branch)
    return UNASSIGNED_QUEUE


def target_kind(target: str) -> str:
    """Metric label of a routing target: manager, branch or unassigned."""
    if target == UNASSIGNED_QUEUE:
        return "unassigned"
    if target.startswith("branch:"):
        return "branch"
    return "manager"


def critical_copies(*, assignment: Assignment | None, managers: dict[str, Manager]) -> list[str]:
    """Critical alerts also reach the wealth advisor and the relationship manager's team lead."""
    if assignment is None:
        return []
    copies = [assignment.wealth_advisor_id or ""]
    manager = managers.get(assignment.relationship_manager_id or "")
    if manager is not None and manager.supervisor_id:
        copies.append(manager.supervisor_id)
    return [c for c in copies if c]


def sla_deadline(
    *,
    severity: str,
    now: datetime,
    sla_seconds: dict[Severity, int],
    calendar: BusinessCalendar | None = None,
) -> datetime | None:
    """When an unacknowledged alert of this severity escalates; None when it never does.

    The SLA counts business time of ``calendar`` (the customer's branch's, see
    ``sla_calendar``); without one, wall time (24x7).
    """
    seconds = sla_seconds.get(Severity(severity))
    if not seconds:
        return None
    if calendar is None:
        return now + timedelta(seconds=seconds)
    return calendar.add(start=now, seconds=seconds)


def sla_branch(*, assignment: Assignment | None, alert_branch: str | None) -> str | None:
    """The branch whose business calendar times a customer's alerts: assigned, else the alert's."""
    return (assignment.branch_id if assignment is not None else None) or alert_branch
