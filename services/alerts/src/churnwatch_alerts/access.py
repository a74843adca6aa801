"""Who may see which customers and alerts: one SQL condition per role, used by every query."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.models import AlertRecord, AlertStatus, Assignment, Manager, Role
from churnwatch_alerts.models.alert import branch_queue


def visible_customers(principal: Principal) -> ColumnElement[bool]:
    """Condition on ``Assignment``: the customers this principal serves or supervises."""
    if principal.role is Role.ADMIN:
        return true()
    if principal.role in (Role.AUDITOR, Role.PRIVACY_OFFICER):
        return false()
    conditions: list[ColumnElement[bool]] = [
        Assignment.relationship_manager_id == principal.id,
        Assignment.wealth_advisor_id == principal.id,
    ]
    if principal.role is Role.TEAM_LEAD and principal.team_id:
        team = select(Manager.id).where(Manager.team_id == principal.team_id)
        conditions.append(Assignment.relationship_manager_id.in_(team))
    if principal.role is Role.BRANCH_HEAD and principal.branch_id:
        conditions.append(Assignment.branch_id == principal.branch_id)
    return or_(*conditions)


def visible_alerts(principal: Principal) -> ColumnElement[bool]:
    """Condition on ``AlertRecord``: alerts of visible customers, plus open ones routed to the caller."""
    if principal.role is Role.ADMIN:
        return true()
    if principal.role in (Role.AUDITOR, Role.PRIVACY_OFFICER):
        # Even an alert routed to an auditor by mistake stays invisible to them.
        return false()
    by_customer = AlertRecord.customer_id.in_(
        select(Assignment.customer_id).where(visible_customers(principal))
    )
    direct_reports = select(Manager.id).where(Manager.supervisor_id == principal.id)
    routed_here = and_(
        AlertRecord.status != AlertStatus.RESOLVED.value,
        or_(
            AlertRecord.assigned_to == principal.id,
            AlertRecord.escalated_to == principal.id,
            # A supervisor keeps seeing a direct report's open alert after it climbs past them.
            AlertRecord.assigned_to.in_(direct_reports),
        ),
    )
    conditions: list[ColumnElement[bool]] = [by_customer, routed_here]
    if principal.role is Role.TEAM_LEAD and principal.team_id:
        team = select(Manager.id).where(Manager.team_id == principal.team_id)
        conditions.append(AlertRecord.assigned_to.in_(team))
    if principal.role is Role.BRANCH_HEAD and principal.branch_id:
        conditions.append(AlertRecord.assigned_to == branch_queue(principal.branch_id))
    return or_(*conditions)
