"""A case's timeline: alerts and their versions, workflow changes, contacts, notes, hand-overs,
escalations and churn-level changes from the daily score history, newest first."""

from __future__ import annotations

import itertools

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.cases.schemas import TimelineItem
from churnwatch_alerts.models import AlertRecord, AlertVersion, AuditEntry, CaseEntry, ScorePoint

# Audit actions that are steps of the case, and how the timeline names them.
AUDITED_STEPS = {
    "alert.ack": ("acknowledged", "Acknowledged"),
    "alert.snooze": ("snoozed", "Snoozed"),
    "alert.resolve": ("resolved", "Resolved"),
    "alert.reopened": ("reopened", "Reopened after the snooze ended"),
    "alert.escalated": ("escalation", "Escalated"),
    "alert.escalation_exhausted": ("escalation", "Escalation reached the top of the chain"),
    "customer.handed_over": ("hand_over", "Customer handed over"),
    "customer.assigned": ("hand_over", "Relationship team set"),
}


def _step_text(action: str, detail: dict[str, object]) -> str:
    words = AUDITED_STEPS[action][1]
    if action == "alert.resolve":
        return f"{words} with outcome {str(detail.get('outcome', '')).replace('_', ' ')}"
    if action == "alert.escalated":
        return f"{words} to {detail.get('to')} (level {detail.get('level')})"
    if action == "customer.handed_over":
        return f"{words} from {detail.get('from') or 'nobody'} to {detail.get('to')}"
    if action == "customer.assigned":
        return f"{words}: relationship manager {detail.get('relationship_manager_id') or 'none'}"
    if action == "alert.snooze":
        return f"{words} until {str(detail.get('until', ''))[:16].replace('T', ' ')}"
    return words


async def build(
    session: AsyncSession,
    *,
    customer_id: str,
    alerts: list[AlertRecord],
    entries: list[CaseEntry],
    points: list[ScorePoint],
) -> list[TimelineItem]:
    """Every step of the case, newest first."""
    items: list[TimelineItem] = []
    titles = {a.id: a.title for a in alerts}
    for alert in alerts:
        score = alert.payload.get("churn_score")
        suffix = f", churn score {float(score):.0f}" if score is not None else ""
        items.append(
            TimelineItem(
                at=alert.received_at,
                kind="alert",
                text=f"Alert raised: {alert.title} ({alert.severity}{suffix})",
                alert_id=alert.id,
            )
        )
        if alert.version > 1:
            items.append(
                TimelineItem(
                    at=alert.updated_at,
                    kind="alert_version",
                    text=f"Alert updated to version {alert.version}: {alert.severity}{suffix}",
                    alert_id=alert.id,
                )
            )
    if titles:
        versions = await session.scalars(
            select(AlertVersion).where(AlertVersion.alert_id.in_(titles))
        )
        for v in versions:
            score = f", churn score {v.churn_score:.0f}" if v.churn_score is not None else ""
            items.append(
                TimelineItem(
                    at=v.detected_at,
                    kind="alert_version",
                    text=f"Version {v.version or 'late'} (superseded): {v.severity}{score}",
                    alert_id=v.alert_id,
                )
            )
    audited = await session.scalars(
        select(AuditEntry).where(
            AuditEntry.customer_id == customer_id, AuditEntry.action.in_(AUDITED_STEPS)
        )
    )
    for entry in audited:
        if entry.alert_id is not None and entry.alert_id not in titles:
            continue  # an alert the caller may not see
        items.append(
            TimelineItem(
                at=entry.at,
                kind=AUDITED_STEPS[entry.action][0],
                text=_step_text(entry.action, entry.detail or {}),
                actor=entry.actor,
                alert_id=entry.alert_id,
            )
        )
    for e in entries:
        if e.kind == "contact":
            who = "customer reached out" if e.initiated_by == "customer" else "outreach"
            text = f"Contact logged: {e.contact_kind} ({who})" + (f". {e.text}" if e.text else "")
        else:
            text = f"Note: {e.text}"
        items.append(TimelineItem(at=e.at, kind=e.kind, text=text, actor=e.author))
    for before, after in itertools.pairwise(points):
        if before.churn_level != after.churn_level:
            items.append(
                TimelineItem(
                    at=after.as_of,
                    kind="state_change",
                    text=(
                        f"Churn level {before.churn_level} to {after.churn_level} "
                        f"(score {before.churn_score:.0f} to {after.churn_score:.0f})"
                    ),
                )
            )
    items.sort(key=lambda i: i.at, reverse=True)
    return items
