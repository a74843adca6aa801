"""When a failed notification is tried again, and when it is given up (dead-lettered)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from churnwatch_alerts.models import Notification
from churnwatch_alerts.settings import AlertsSettings

# Beyond this many doublings every delay is capped anyway; it keeps the power finite.
_MAX_EXPONENT = 60


def retry_delay(
    *, settings: AlertsSettings, attempts: int, rand: random.Random | None = None
) -> timedelta:
    """Exponential delay after the n-th failed attempt, capped, shortened by random jitter.

    Jitter only shortens, so the cap holds; it spreads the retries of many notifications that
    failed together (one endpoint's outage) instead of sending them back in one burst.
    """
    exponent = min(max(attempts - 1, 0), _MAX_EXPONENT)
    delay = min(
        settings.retry_max_delay_seconds,
        settings.retry_base_seconds * settings.retry_factor**exponent,
    )
    share = (rand or random).random() * settings.retry_jitter
    return timedelta(seconds=delay * (1.0 - share))


def give_up_at(*, settings: AlertsSettings, notification: Notification) -> datetime:
    """End of the retry window: from when it was written, or from its last redrive."""
    start = notification.redriven_at or notification.created_at
    return start + timedelta(seconds=settings.retry_give_up_after_seconds)


def next_attempt(
    *, settings: AlertsSettings, notification: Notification, attempts: int, now: datetime
) -> datetime | None:
    """When to try again after a failed attempt, or None to dead-letter it now."""
    cap = settings.webhook_max_attempts
    if cap is not None and attempts >= cap:
        return None
    at = now + retry_delay(settings=settings, attempts=attempts)
    if at > give_up_at(settings=settings, notification=notification):
        return None
    return at
