"""churnwatch_alerts_outbox_backlog: notifications due and not yet sent, per channel.

Counted by one indexed query (``ix_notifications_due``) every ``BACKLOG_INTERVAL_SECONDS``, not
per scrape, so scrapes never touch the database. Every replica reports the same rows: dashboards
and rules take the max over instances, not the sum.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.clock import Clock
from churnwatch_alerts.metrics import OUTBOX_BACKLOG
from churnwatch_alerts.notifications import repository

BACKLOG_INTERVAL_SECONDS = 15.0


async def outbox_backlog(
    *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> dict[str, int]:
    """Pending notifications whose next attempt is due now, by channel."""
    async with sessionmaker() as session:
        return await repository.due_by_channel(session, now=clock.now())


class BacklogGauge:
    """Keeps the gauge current; a channel whose backlog emptied reports 0, not its last value."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        interval_seconds: float = BACKLOG_INTERVAL_SECONDS,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.interval_seconds = interval_seconds
        self._channels: set[str] = set()

    async def refresh(self) -> dict[str, int]:
        """Count once and set the gauge; returns the counts."""
        counts = await outbox_backlog(sessionmaker=self.sessionmaker, clock=self.clock)
        self._channels |= set(counts)
        for channel in self._channels:
            OUTBOX_BACKLOG.labels(channel).set(counts.get(channel, 0))
        return counts

    async def run(self) -> None:
        """Refresh every interval until cancelled."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.interval_seconds)
