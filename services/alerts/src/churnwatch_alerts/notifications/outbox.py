"""Writing notifications into the outbox inside the transaction of the change that causes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import AlertRecord, Manager, Notification, NotificationStatus
from churnwatch_alerts.upsert import insert_for
from churnwatch_shared.alerts import Severity

INBOX = "inbox"
DIGEST_EVENT = "digest"
# Alerts of these severities reach webhook/email in the periodic digest when the manager opted in.
LOW_SEVERITIES = frozenset({Severity.INFO.value, Severity.WATCH.value})


def goes_to_digest(*, alert: AlertRecord, manager: Manager) -> bool:
    """Low-severity alerts of a manager who takes the digest are not sent one by one."""
    return manager.low_severity_digest and alert.severity in LOW_SEVERITIES


def alert_message(alert: AlertRecord, *, event: str) -> dict[str, Any]:
    """What a notification says: ids, severity, title, no amounts or names."""
    return {
        "event": event,
        "alert_id": alert.id,
        "customer_id": alert.customer_id,
        "severity": alert.severity,
        "priority": alert.priority,
        "rule_id": alert.rule_id,
        "state": alert.state,
        "title": alert.title,
        "assigned_to": alert.assigned_to,
        "escalation_level": alert.escalation_level,
    }


async def _add(
    session: AsyncSession,
    *,
    key: str,
    alert: AlertRecord,
    recipient: str,
    channel: str,
    event: str,
    now: datetime,
) -> None:
    inbox = channel == INBOX
    stmt = (
        insert_for(session, Notification)
        .values(
            dedupe_key=f"{key}:{recipient}:{channel}",
            alert_id=alert.id,
            recipient=recipient,
            channel=channel,
            event=event,
            payload=alert_message(alert, event=event),
            # The inbox is this table itself: stored means delivered.
            status=(NotificationStatus.DELIVERED if inbox else NotificationStatus.PENDING).value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            delivered_at=now if inbox else None,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    await session.execute(stmt)


async def enqueue(
    session: AsyncSession,
    *,
    alert: AlertRecord,
    recipients: list[str],
    event: str,
    key: str,
    now: datetime,
) -> None:
    """Inbox for every recipient, plus the webhook/email channels each manager opted into.

    Low-severity alerts skip the outbound channels of managers who take the digest: the inbox row
    written here is what ``digest.build_digests`` later gathers for them.
    """
    for recipient in dict.fromkeys(r for r in recipients if r):
        await _add(
            session, key=key, alert=alert, recipient=recipient, channel=INBOX, event=event, now=now
        )
        manager = await session.get(Manager, recipient)
        if manager is None or goes_to_digest(alert=alert, manager=manager):
            continue
        for channel in manager.channels or []:
            if channel != INBOX:
                await _add(
                    session, key=key, alert=alert, recipient=recipient, channel=channel,
                    event=event, now=now,
                )
