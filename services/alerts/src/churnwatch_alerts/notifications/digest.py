"""The low-severity digest: per manager and closed period, one outbox entry per outbound channel.

Info/watch alerts of managers who take the digest get an inbox row but no webhook/email of their
own (see ``outbox.enqueue``). When a period closes, the inbox rows of that period that were not
sent one by one are gathered into one message per manager and channel. Its dedupe key names the
manager, the period and the channel, so a restart, a second replica or a rerun writes nothing new.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.clock import Clock
from churnwatch_alerts.managers import repository as managers_repo
from churnwatch_alerts.models import AlertRecord, Notification, NotificationStatus
from churnwatch_alerts.notifications import repository
from churnwatch_alerts.notifications.outbox import DIGEST_EVENT, INBOX, LOW_SEVERITIES
from churnwatch_alerts.settings import AlertsSettings

log = structlog.get_logger(__name__)

MAX_ITEMS = 200


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime


def closed_periods(*, now: datetime, period_seconds: int, lookback: int) -> list[Period]:
    """The last ``lookback`` whole periods before the one containing ``now`` (epoch-aligned)."""
    current = int(now.timestamp()) // period_seconds * period_seconds
    starts = [current - k * period_seconds for k in range(lookback, 0, -1)]
    return [
        Period(
            start=datetime.fromtimestamp(s, tz=UTC),
            end=datetime.fromtimestamp(s + period_seconds, tz=UTC),
        )
        for s in starts
    ]


def digest_key(*, manager_id: str, period: Period, channel: str) -> str:
    """One digest per manager, period and channel."""
    return f"digest:{manager_id}:{period.start.isoformat()}:{channel}"


def sibling(row: Notification, channel: str) -> str:
    """The key the same cause would have had if it was sent one by one on ``channel``.

    The inbox key is "<cause>:<recipient>:inbox"; an outbound one is "<cause>:<recipient>:<channel>".
    Causes already sent on their own (the manager took no digest then) are not repeated.
    """
    return row.dedupe_key.removesuffix(f":{INBOX}") + f":{channel}"


def _item(row: Notification, alert: AlertRecord) -> dict[str, Any]:
    return {
        "event": row.event,
        "alert_id": alert.id,
        "customer_id": alert.customer_id,
        "severity": alert.severity,
        "priority": alert.priority,
        "rule_id": alert.rule_id,
        "state": alert.state,
        "title": alert.title,
        "at": row.created_at.isoformat(),
    }


async def build_digests(
    session: AsyncSession, *, now: datetime, period_seconds: int, lookback: int
) -> int:
    """Write the digests of closed periods into the outbox; returns how many were new."""
    periods = closed_periods(now=now, period_seconds=period_seconds, lookback=lookback)
    rows = await repository.inbox_rows_between(
        session,
        inbox=INBOX,
        start=periods[0].start,
        end=periods[-1].end,
        severities=LOW_SEVERITIES,
    )
    by_recipient: dict[str, list[tuple[Notification, AlertRecord]]] = defaultdict(list)
    for row, alert in rows:
        by_recipient[row.recipient].append((row, alert))
    written = 0
    for recipient, items in by_recipient.items():
        manager = await managers_repo.get(session, manager_id=recipient)
        outbound = [c for c in (manager.channels if manager else []) or [] if c != INBOX]
        if manager is None or not outbound or not manager.active:
            continue
        # causes already sent on their own (the manager took no digest then)
        sent = await repository.existing_keys(
            session, keys={sibling(r, c) for r, _ in items for c in outbound}
        )
        for period in periods:
            in_period = [
                (r, a)
                for r, a in items
                if period.start <= r.created_at < period.end
                and not any(sibling(r, c) in sent for c in outbound)
            ]
            if not in_period:
                continue
            payload = {
                "event": DIGEST_EVENT,
                "recipient": recipient,
                "period_start": period.start.isoformat(),
                "period_end": period.end.isoformat(),
                "count": len(in_period),
                "alerts": [_item(r, a) for r, a in in_period[:MAX_ITEMS]],
            }
            for channel in outbound:
                values = {
                    "dedupe_key": digest_key(manager_id=recipient, period=period, channel=channel),
                    "alert_id": None,
                    "recipient": recipient,
                    "channel": channel,
                    "event": DIGEST_EVENT,
                    "payload": payload,
                    "status": NotificationStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                if await repository.insert_if_new(session, values=values):
                    written += 1
    return written


class DigestScheduler:
    """Builds due digests every ``digest_interval_seconds``; state lives only in the database."""

    def __init__(
        self,
        *,
        settings: AlertsSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock = clock

    async def run_once(self) -> int:
        """One pass in one transaction; returns how many digests were written."""
        async with self.sessionmaker() as session, session.begin():
            written = await build_digests(
                session,
                now=self.clock.now(),
                period_seconds=self.settings.digest_period_seconds,
                lookback=self.settings.digest_lookback_periods,
            )
        if written:
            log.info("digest.enqueued", count=written)
        return written

    async def run(self) -> None:
        """Loop until cancelled."""
        while True:
            await self.run_once()
            await asyncio.sleep(self.settings.digest_interval_seconds)
