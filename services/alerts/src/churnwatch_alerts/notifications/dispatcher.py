"""The outbox dispatcher: deliver due notifications, log attempts, back off, dead-letter."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.clock import Clock
from churnwatch_alerts.metrics import NOTIFICATION_DEAD, NOTIFICATION_FAILURES, NOTIFIED
from churnwatch_alerts.models import DeliveryAttempt, Manager, Notification, NotificationStatus
from churnwatch_alerts.notifications.channels import Channel, DeliveryError
from churnwatch_alerts.settings import AlertsSettings

log = structlog.get_logger(__name__)


class Dispatcher:
    """Delivers pending outbox rows; one transaction per batch, rows locked while sending."""

    def __init__(
        self,
        *,
        settings: AlertsSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        channels: dict[str, Channel],
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.channels = channels
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New outbox rows were committed: dispatch now instead of at the next poll."""
        self._wake.set()

    def backoff(self, *, attempts: int) -> timedelta:
        """Exponential backoff after the n-th failed attempt."""
        return timedelta(seconds=self.settings.retry_base_seconds * 2 ** (attempts - 1))

    async def _deliver(self, session: AsyncSession, notification: Notification) -> None:
        now = self.clock.now()
        channel = self.channels.get(notification.channel)
        manager = await session.get(Manager, notification.recipient)
        notification.attempts += 1
        status_code: int | None = None
        error: str | None = None
        permanent = False
        try:
            if channel is None:
                raise DeliveryError(f"no channel {notification.channel!r}", permanent=True)
            status_code = await channel.send(notification=notification, manager=manager)
        except DeliveryError as exc:
            error, status_code, permanent = str(exc), exc.status_code, exc.permanent
        session.add(
            DeliveryAttempt(
                notification_id=notification.id,
                attempt=notification.attempts,
                at=now,
                ok=error is None,
                status_code=status_code,
                error=error,
            )
        )
        if error is None:
            notification.status = NotificationStatus.DELIVERED.value
            notification.delivered_at = now
            notification.last_error = None
            NOTIFIED.labels(channel=notification.channel).inc()
            return
        NOTIFICATION_FAILURES.labels(channel=notification.channel).inc()
        notification.last_error = error
        if permanent or notification.attempts >= self.settings.webhook_max_attempts:
            notification.status = NotificationStatus.DEAD.value
            NOTIFICATION_DEAD.labels(channel=notification.channel).inc()
            log.warning(
                "notification.dead",
                notification_id=notification.id,
                channel=notification.channel,
                attempts=notification.attempts,
            )
        else:
            notification.next_attempt_at = now + self.backoff(attempts=notification.attempts)

    async def dispatch_once(self, *, limit: int = 50) -> int:
        """Attempt every due notification once; returns how many were attempted."""
        async with self.sessionmaker() as session, session.begin():
            stmt = (
                select(Notification)
                .where(
                    Notification.status == NotificationStatus.PENDING.value,
                    Notification.next_attempt_at <= self.clock.now(),
                )
                .order_by(Notification.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            due = list((await session.scalars(stmt)).all())
            for notification in due:
                await self._deliver(session, notification)
        return len(due)

    async def run(self) -> None:
        """Dispatch whenever woken, and poll every ``outbox_interval_seconds`` as a fallback."""
        while True:
            self._wake.clear()
            attempted = await self.dispatch_once()
            if attempted == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), timeout=self.settings.outbox_interval_seconds
                    )

    async def close(self) -> None:
        """Close channel clients."""
        for channel in self.channels.values():
            await channel.close()
