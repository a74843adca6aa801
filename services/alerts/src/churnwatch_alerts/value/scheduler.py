"""The value review job: each interval, review every customer for the last closed period."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.clock import Clock
from churnwatch_alerts.value.config import ValueConfig
from churnwatch_alerts.value.periods import PeriodKind, last_closed_period
from churnwatch_alerts.value.service import ReviewPass, review_period

log = structlog.get_logger(__name__)


class ValueReviewScheduler:
    """Runs ``review_period`` for the last closed period; the database says what is done."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        config: ValueConfig,
        kind: PeriodKind,
        interval_seconds: float,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.config = config
        self.kind = kind
        self.interval_seconds = interval_seconds

    async def tick(self) -> ReviewPass:
        """Review whoever is not yet reviewed for the last closed period."""
        now = self.clock.now()
        period = last_closed_period(now, kind=self.kind)
        return await review_period(self.sessionmaker, period=period, config=self.config, now=now)

    async def run(self) -> None:
        """Tick forever."""
        while True:
            done = await self.tick()
            if done.reviewed:
                log.info("value.reviewed", period=done.period, customers=done.reviewed)
            await asyncio.sleep(self.interval_seconds)
