"""The escalation scheduler: a ``service.run_once`` pass per interval, each its own transaction."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.clock import Clock
from churnwatch_alerts.escalation.service import EscalationRun, run_once
from churnwatch_alerts.settings import AlertsSettings

log = structlog.get_logger(__name__)


class EscalationScheduler:
    """Runs ``run_once`` every interval; a restart picks up deadlines from the database."""

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

    async def tick(self) -> EscalationRun:
        """One pass in its own transaction."""
        async with self.sessionmaker() as session, session.begin():
            return await run_once(session, now=self.clock.now(), settings=self.settings)

    async def run(self) -> None:
        """Tick forever."""
        while True:
            outcome = await self.tick()
            if outcome.escalated or outcome.reopened:
                log.info("escalation.tick", escalated=outcome.escalated, reopened=outcome.reopened)
            await asyncio.sleep(self.settings.escalation_interval_seconds)
