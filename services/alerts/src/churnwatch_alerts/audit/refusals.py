"""Refusals (failed logins, denied reads) audited without letting a script flood the audit log.

Per principal and client address, the first ``per_minute`` refusals of each minute are written
one by one; later ones are only counted, and when the minute has ended one
``audit.refusals_suppressed`` row records how many there were and of which actions. The summary
is written by the next refusal after the minute, by the periodic ``run`` loop, and at shutdown.

State is per process (each replica has its own budget) and bounded: past ``max_keys`` open
windows, newcomers share one overflow window (actor and source ``*``), so many addresses cannot
grow memory either. The address is the connection's peer (a proxy's own address unless the
deployment's server is configured to trust its forwarding headers).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.audit.writer import record, record_now
from churnwatch_alerts.clock import Clock

log = structlog.get_logger(__name__)

SUMMARY_ACTION = "audit.refusals_suppressed"
OVERFLOW = "*"
FLUSH_INTERVAL_SECONDS = 15.0


@dataclass(slots=True)
class _Window:
    start: datetime
    written: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class Summary:
    """What one principal and address had suppressed in one ended window."""

    actor: str
    source: str
    start: datetime
    end: datetime
    actions: dict[str, int]

    @property
    def suppressed(self) -> int:
        return sum(self.actions.values())


class RefusalAudit:
    """Decides which refusals are written one by one and summarises the rest."""

    def __init__(
        self, *, per_minute: int = 5, window_seconds: float = 60.0, max_keys: int = 10_000
    ) -> None:
        self.per_minute = per_minute
        self.window = timedelta(seconds=window_seconds)
        self.max_keys = max_keys
        self._windows: dict[tuple[str, str], _Window] = {}

    def __len__(self) -> int:
        return len(self._windows)

    def admit(
        self, *, actor: str, source: str, action: str, now: datetime
    ) -> tuple[bool, list[Summary]]:
        """Whether to write this refusal now, and the summaries of windows that have ended."""
        ended = self.ended(now=now)
        key = (actor, source)
        if key not in self._windows and len(self._windows) >= self.max_keys:
            key = (OVERFLOW, OVERFLOW)
        window = self._windows.setdefault(key, _Window(start=now))
        if window.written < self.per_minute:
            window.written += 1
            return True, ended
        window.suppressed[action] += 1
        return False, ended

    def ended(self, *, now: datetime) -> list[Summary]:
        """Close the windows that ended by ``now``; the summaries of those that suppressed any."""
        closed = [k for k, w in self._windows.items() if w.start + self.window <= now]
        out: list[Summary] = []
        for key in closed:
            window = self._windows.pop(key)
            if window.suppressed:
                out.append(
                    Summary(
                        actor=key[0],
                        source=key[1],
                        start=window.start,
                        end=window.start + self.window,
                        actions=dict(window.suppressed),
                    )
                )
        return out

    async def flush(self, *, sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
        """Write the summaries of ended windows; how many were written."""
        return await write_summaries(sessionmaker, summaries=self.ended(now=now), now=now)

    async def run(self, *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        """Flush ended windows every few seconds until cancelled, then once more for all."""
        try:
            while True:
                await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
                await self.flush(sessionmaker=sessionmaker, now=clock.now())
        finally:
            # shutting down: what was counted so far is written rather than lost
            final = clock.now() + self.window
            await self.flush(sessionmaker=sessionmaker, now=final)


async def write_summaries(
    sessionmaker: async_sessionmaker[AsyncSession], *, summaries: list[Summary], now: datetime
) -> int:
    """One audit row per summary, in one transaction of their own."""
    if not summaries:
        return 0
    try:
        async with sessionmaker() as session, session.begin():
            for s in summaries:
                record(
                    session,
                    actor=s.actor[:128],
                    action=SUMMARY_ACTION,
                    at=now,
                    detail={
                        "source": s.source,
                        "window_start": s.start.isoformat(),
                        "window_end": s.end.isoformat(),
                        "suppressed": s.suppressed,
                        "actions": s.actions,
                    },
                )
    except Exception:
        log.exception("audit.summary_write_failed", summaries=len(summaries))
        return 0
    return len(summaries)


def client_address(request: Request) -> str:
    """The connection's peer address (``unknown`` when the server does not say)."""
    return request.client.host if request.client is not None else "unknown"


async def audit_refusal(
    request: Request,
    *,
    actor: str,
    action: str,
    customer_id: str | None = None,
    alert_id: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Audit a refusal in its own transaction, within the per-minute budget of the caller."""
    app = request.app
    now = app.state.clock.now()
    source = client_address(request)
    limiter: RefusalAudit = app.state.refusal_audit
    write, ended = limiter.admit(actor=actor, source=source, action=action, now=now)
    await write_summaries(app.state.sessionmaker, summaries=ended, now=now)
    if write:
        await record_now(
            app.state.sessionmaker,
            actor=actor,
            action=action,
            at=now,
            customer_id=customer_id,
            alert_id=alert_id,
            detail={**(detail or {}), "source": source},
        )
