"""The outbox dispatcher: claim due notifications, send them concurrently, record each outcome.

Three short transactions per notification, none of them open while anything is sent:

1. claim: due rows are selected ``FOR UPDATE SKIP LOCKED`` (several replicas never claim the same
   row), get a fresh ``lease_id``, one more attempt, and ``next_attempt_at`` moved to the end of
   the lease; committed at once.
2. send, outside any transaction, under a hard deadline.
3. record: the attempt is logged and the row becomes delivered, retried later or dead, only if
   it still carries this claim's ``lease_id``.

A crash between 2 and 3 leaves the row leased; when the lease ends it is due again and sent again
with the same delivery id. So delivery is at least once, and a crash repeats only the sends that
were in flight (at most ``notify_concurrency``).

Concurrency is bounded globally and per endpoint (a webhook URL; the SMTP host for email). An
endpoint at its limit is left out of the claim query, so a hanging endpoint holds only its own
slots and every other endpoint's notifications keep moving.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.clock import Clock
from churnwatch_alerts.metrics import NOTIFICATION_DEAD, NOTIFICATION_FAILURES, NOTIFIED
from churnwatch_alerts.models import DeliveryAttempt, Manager, Notification, NotificationStatus
from churnwatch_alerts.notifications import repository
from churnwatch_alerts.notifications.channels import Channel, DeliveryError
from churnwatch_alerts.notifications.schedule import next_attempt
from churnwatch_alerts.settings import AlertsSettings

log = structlog.get_logger(__name__)

# Rows read per claim per free slot: rows of endpoints already full are skipped in Python.
_CANDIDATES_PER_SLOT = 4
# On shutdown, sends in flight get this long to finish and be recorded before they are cancelled.
_DRAIN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Claim:
    """One notification claimed for one attempt (detached rows, usable outside the session)."""

    notification: Notification
    manager: Manager | None
    endpoint: str
    lease_id: str
    attempt: int


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False


class Dispatcher:
    """Delivers pending outbox rows with bounded concurrency per endpoint and overall."""

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
        self._load: Counter[str] = Counter()  # sends in flight per endpoint
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """New outbox rows were committed (or a slot freed): look for due rows now."""
        self._wake.set()

    async def claim(self, *, limit: int, exclude: frozenset[int] = frozenset()) -> list[Claim]:
        """Claim up to ``limit`` due notifications of endpoints with a free slot; one transaction."""
        if limit <= 0:
            return []
        per_endpoint = self.settings.notify_endpoint_concurrency
        full = [e for e, n in self._load.items() if n >= per_endpoint]
        now = self.clock.now()
        lease_end = now + timedelta(seconds=self.settings.notify_lease_seconds)
        claims: list[Claim] = []
        load = Counter(self._load)
        async with self.sessionmaker() as session, session.begin():
            due = await repository.due_for_claim(
                session,
                now=now,
                limit=limit * _CANDIDATES_PER_SLOT,
                full_endpoints=full,
                exclude=exclude,
            )
            for notification, manager, key in due:
                if len(claims) >= limit:
                    break
                if load[key] >= per_endpoint:
                    continue
                load[key] += 1
                lease_id = uuid.uuid4().hex
                notification.attempts += 1
                notification.next_attempt_at = lease_end
                notification.lease_id = lease_id
                claims.append(
                    Claim(notification, manager, key, lease_id, attempt=notification.attempts)
                )
        for claim in claims:
            self._load[claim.endpoint] += 1
        return claims

    async def _send(self, claim: Claim) -> Outcome:
        channel = self.channels.get(claim.notification.channel)
        if channel is None:
            return Outcome(error=f"no channel {claim.notification.channel!r}", permanent=True)
        deadline = self.settings.notify_attempt_deadline_seconds
        try:
            async with asyncio.timeout(deadline):
                status_code = await channel.send(
                    notification=claim.notification, manager=claim.manager
                )
        except DeliveryError as exc:
            return Outcome(status_code=exc.status_code, error=str(exc), permanent=exc.permanent)
        except TimeoutError:
            return Outcome(error=f"TimeoutError: no answer within the {deadline} s deadline")
        except Exception as exc:  # a channel bug must not stop the dispatcher: retried, logged
            log.exception("notification.channel_error", notification_id=claim.notification.id)
            return Outcome(error=f"{type(exc).__name__}: {exc}")
        return Outcome(status_code=status_code)

    async def _record(self, claim: Claim, outcome: Outcome) -> None:
        """The attempt's outcome in its own short transaction, if the claim still holds the row."""
        notification = claim.notification
        now = self.clock.now()
        values: dict[str, object] = {"last_error": outcome.error, "lease_id": None}
        if outcome.error is None:
            values |= {"status": NotificationStatus.DELIVERED.value, "delivered_at": now}
        else:
            retry_at = (
                None
                if outcome.permanent
                else next_attempt(
                    settings=self.settings,
                    notification=notification,
                    attempts=claim.attempt,
                    now=now,
                )
            )
            if retry_at is None:
                values |= {"status": NotificationStatus.DEAD.value, "dead_at": now}
            else:
                values["next_attempt_at"] = retry_at
        async with self.sessionmaker() as session, session.begin():
            held = await repository.record_attempt(
                session,
                attempt=DeliveryAttempt(
                    notification_id=notification.id,
                    attempt=claim.attempt,
                    at=now,
                    ok=outcome.error is None,
                    status_code=outcome.status_code,
                    error=outcome.error,
                ),
                lease_id=claim.lease_id,
                values=values,
            )
        if not held:
            log.warning("notification.lease_lost", notification_id=notification.id)
            return
        labels = {"channel": notification.channel}
        if outcome.error is None:
            NOTIFIED.labels(**labels).inc()
            return
        NOTIFICATION_FAILURES.labels(**labels).inc()
        if values.get("status") == NotificationStatus.DEAD.value:
            NOTIFICATION_DEAD.labels(**labels).inc()
            log.warning(
                "notification.dead",
                notification_id=notification.id,
                channel=notification.channel,
                attempts=claim.attempt,
                error=outcome.error,
            )

    async def attempt(self, claim: Claim) -> None:
        """Send one claimed notification and record the outcome; frees its slot either way."""
        try:
            outcome = await self._send(claim)
            await self._record(claim, outcome)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Not recorded (database unreachable): the lease ends and the row is sent again.
            log.exception("notification.record_failed", notification_id=claim.notification.id)
        finally:
            self._load[claim.endpoint] -= 1
            if self._load[claim.endpoint] <= 0:
                del self._load[claim.endpoint]
            self._wake.set()

    def _free_slots(self) -> int:
        return self.settings.notify_concurrency - len(self._in_flight)

    async def dispatch_once(self) -> int:
        """Attempt every due notification once, within the limits; returns how many were attempted.

        Waits for each round of sends before claiming the next, so it suits tests and one-off
        runs; the service uses ``run``, which never waits for a slow endpoint.
        """
        attempted: set[int] = set()
        while claims := await self.claim(limit=self._free_slots(), exclude=frozenset(attempted)):
            await asyncio.gather(*(self.attempt(c) for c in claims))
            attempted.update(c.notification.id for c in claims)
        return len(attempted)

    async def run(self) -> None:
        """Claim into free slots whenever woken, a send finishes, or the poll interval passes."""
        try:
            while True:
                self._wake.clear()
                claims = await self.claim(limit=self._free_slots())
                for claim in claims:
                    task = asyncio.create_task(self.attempt(claim))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
                if claims and self._free_slots() > 0:
                    continue  # more may be due for endpoints that still have room
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), timeout=self.settings.outbox_interval_seconds
                    )
        finally:
            await self._drain()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        _, pending = await asyncio.wait(self._in_flight, timeout=_DRAIN_SECONDS)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        """Close channel clients."""
        for channel in self.channels.values():
            await channel.close()
