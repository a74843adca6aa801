"""Writing notifications into the outbox inside the transaction of the change that causes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.managers import repository as managers_repo
from churnwatch_alerts.models import AlertRecord, Manager, NotificationStatus
from churnwatch_alerts.notifications import repository
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


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One alert to announce to its recipients."""

    alert: AlertRecord
    recipients: list[str]
    event: str
    key: str


def _row(item: Outgoing, *, recipient: str, channel: str, now: datetime) -> dict[str, Any]:
    inbox = channel == INBOX
    key, alert, event = item.key, item.alert, item.event
    return {
        "dedupe_key": f"{key}:{recipient}:{channel}",
        "alert_id": alert.id,
        "recipient": recipient,
        "channel": channel,
        "event": event,
        "payload": alert_message(alert, event=event),
        # The inbox is this table itself: stored means delivered.
        "status": (NotificationStatus.DELIVERED if inbox else NotificationStatus.PENDING).value,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "created_at": now,
        "delivered_at": now if inbox else None,
        "read_at": None,
    }


async def enqueue_many(
    session: AsyncSession,
    *,
    items: list[Outgoing],
    managers: dict[str, Manager],
    now: datetime,
) -> int:
    """Write the outbox rows of many alerts in one statement; returns how many are pending sends.

    Inbox for every recipient, plus the webhook/email channels each manager opted into
    (``managers`` must hold every recipient that is a manager). Low-severity alerts skip the
    outbound channels of managers who take the digest: the inbox row written here is what
    ``digest.build_digests`` later gathers for them.
    """
    rows: list[dict[str, Any]] = []
    for item in items:
        for recipient in dict.fromkeys(r for r in item.recipients if r):
            rows.append(_row(item, recipient=recipient, channel=INBOX, now=now))
            manager = managers.get(recipient)
            if manager is None or goes_to_digest(alert=item.alert, manager=manager):
                continue
            rows.extend(
                _row(item, recipient=recipient, channel=c, now=now)
                for c in manager.channels or []
                if c != INBOX
            )
    await repository.insert_outbox_rows(session, rows=rows)
    return sum(1 for r in rows if r["delivered_at"] is None)


async def enqueue(
    session: AsyncSession,
    *,
    alert: AlertRecord,
    recipients: list[str],
    event: str,
    key: str,
    now: datetime,
) -> None:
    """Write one alert's outbox rows (inbox, and the channels each recipient opted into)."""
    managers: dict[str, Manager] = {}
    for recipient in dict.fromkeys(r for r in recipients if r):
        manager = await managers_repo.get(session, manager_id=recipient)
        if manager is not None:
            managers[recipient] = manager
    await enqueue_many(
        session,
        items=[Outgoing(alert=alert, recipients=recipients, event=event, key=key)],
        managers=managers,
        now=now,
    )
