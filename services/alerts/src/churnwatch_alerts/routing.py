"""Routing: which manager or queue an alert belongs to, from the customer's assignment."""

from __future__ import annotations

from churnwatch_alerts.models import Assignment
from churnwatch_alerts.models.alert import UNASSIGNED_QUEUE, branch_queue


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
