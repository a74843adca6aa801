"""Erasure requests and their proof: erase the alerts database, tell the monitor, confirm.

1. ``request_erasure``: one transaction erases the customer's rows (``erase.erase_rows``), writes
   the proof record (status ``event_not_sent``) and the audit row ``privacy.erasure_requested``;
   then the erasure event goes onto EVENTS (``events.py``) and the proof notes its partition and
   offset (status ``awaiting_monitor``). A failed send leaves ``event_not_sent``: asking again
   for the same customer resumes that erasure (same id) instead of starting another.
2. The monitor applies every earlier event of the customer, then deletes the state in its store
   and changelog (tombstone) and writes a tombstone on the customer-state topic.
3. ``confirm_monitor`` (the intake, on that tombstone): sweeps the database again (anything that
   arrived from before the erasure while it was under way), records the monitor step and marks
   the erasure ``completed`` (audit row ``privacy.erasure_completed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.audit import record
from churnwatch_alerts.customers.locks import lock_customers
from churnwatch_alerts.models import ErasureRecord, ErasureStatus
from churnwatch_alerts.privacy.erase import erase_rows
from churnwatch_alerts.privacy.events import ErasureSender
from churnwatch_shared import topics

log = structlog.get_logger(__name__)

_DAY_MS = 24 * 3600 * 1000


def _retention_days(spec: topics.TopicSpec) -> int | None:
    ms = dict(spec.configs).get("retention.ms")
    return int(ms) // _DAY_MS if ms is not None else None


# What the erasure does not delete record by record: it expires with the topic's retention.
EXPIRING = {
    spec.suffix: f"expires with the topic's retention ({_retention_days(spec)} days)"
    for spec in (
        topics.EVENTS,
        topics.EVENTS_RAW,
        topics.DEAD_LETTER,
        topics.ALERTS,
        topics.ALERTS_INTAKE_DEAD_LETTER,
    )
}
MONITOR_STEP = {
    "state_stores": "deleted (RocksDB / in-memory store of the owning worker)",
    "changelog": "tombstone written (compacted away by the broker)",
    f"{topics.CUSTOMER_STATE.suffix}": "tombstone written (compacted away by the broker)",
    "silence_index": "removed",
}


class ErasureUnsent(RuntimeError):
    """The alerts database is erased but the event for the monitor could not be sent."""

    def __init__(self, erasure: ErasureRecord, error: str) -> None:
        super().__init__(error)
        self.erasure = erasure


async def _open_erasure(session: AsyncSession, *, customer_id: str) -> ErasureRecord | None:
    return (
        await session.scalars(
            select(ErasureRecord)
            .where(
                ErasureRecord.customer_id == customer_id,
                ErasureRecord.status != ErasureStatus.COMPLETED.value,
            )
            .order_by(ErasureRecord.requested_at)
            .limit(1)
        )
    ).first()


async def request_erasure(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    customer_id: str,
    reason: str,
    actor: str,
    now: datetime,
    sender: ErasureSender,
) -> ErasureRecord:
    """Erase the customer here and send the event for the monitor; raises ``ErasureUnsent``."""
    async with sessionmaker() as session, session.begin():
        # the intake's lock of the customer: no alert of theirs is being stored meanwhile, and
        # two requests for one customer make one erasure
        await lock_customers(session, customer_ids=[customer_id])
        erasure = await _open_erasure(session, customer_id=customer_id)
        if erasure is None:
            erasure = ErasureRecord(
                id=f"er-{uuid.uuid4().hex}",
                customer_id=customer_id,
                requested_by=actor,
                requested_at=now,
                reason=reason,
                status=ErasureStatus.EVENT_NOT_SENT.value,
                removed={"expires_with_retention": EXPIRING},
            )
            session.add(erasure)
            await session.flush()
        counts = await erase_rows(session, customer_id=customer_id, erasure_id=erasure.id)
        previous = dict(erasure.removed.get("alerts_database") or {})
        erasure.removed = {
            **erasure.removed,
            "alerts_database": {k: previous.get(k, 0) + v for k, v in counts.items()},
        }
        record(
            session,
            actor=actor,
            action="privacy.erasure_requested",
            customer_id=customer_id,
            at=now,
            detail={"erasure_id": erasure.id, "removed": counts},
        )
    try:
        sent = await sender.send(customer_id=customer_id, erasure_id=erasure.id, at=now)
    except Exception as exc:
        # any broker failure: the proof says so, and asking again resumes this erasure
        log.warning("privacy.erasure_event_not_sent", erasure_id=erasure.id, error=repr(exc))
        raise ErasureUnsent(erasure, f"{type(exc).__name__}: {exc}") from exc
    async with sessionmaker() as session, session.begin():
        stored = await session.get(
            ErasureRecord, erasure.id, populate_existing=True, with_for_update=True
        )
        assert stored is not None
        stored.removed = {**stored.removed, "account_owners_topic": sent.account_owners}
        # the monitor's tombstone may have completed the erasure already: keep that status
        if stored.status == ErasureStatus.EVENT_NOT_SENT.value:
            stored.status = ErasureStatus.AWAITING_MONITOR.value
        stored.event_partition, stored.event_offset = sent.partition, sent.offset
        stored.event_sent_at = now
    return stored


async def confirm_monitor(session: AsyncSession, *, customer_id: str, now: datetime) -> int:
    """The monitor's tombstone for ``customer_id`` arrived: sweep and complete its erasures."""
    open_ones = list(
        await session.scalars(
            select(ErasureRecord).where(
                ErasureRecord.customer_id == customer_id,
                ErasureRecord.status != ErasureStatus.COMPLETED.value,
            )
        )
    )
    for erasure in open_ones:
        swept = await erase_rows(session, customer_id=customer_id, erasure_id=erasure.id)
        erasure.removed = {
            **erasure.removed,
            "monitor": MONITOR_STEP,
            "swept_after_monitor": swept,
        }
        erasure.status = ErasureStatus.COMPLETED.value
        erasure.monitor_confirmed_at = now
        record(
            session,
            actor="system:intake",
            action="privacy.erasure_completed",
            customer_id=customer_id,
            at=now,
            detail={"erasure_id": erasure.id, "swept": swept},
        )
    return len(open_ones)


async def erased_before(
    session: AsyncSession, *, customer_ids: Iterable[str]
) -> dict[str, datetime]:
    """Customers with an erasure and the latest request time: older data about them is dropped."""
    ids = set(customer_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(ErasureRecord.customer_id, func.max(ErasureRecord.requested_at))
        .where(ErasureRecord.customer_id.in_(ids))
        .group_by(ErasureRecord.customer_id)
    )
    return {c: at for c, at in rows.all()}


def proof(erasure: ErasureRecord) -> dict[str, Any]:
    """The proof record as JSON."""
    return {
        "erasure_id": erasure.id,
        "customer_id": erasure.customer_id,
        "requested_by": erasure.requested_by,
        "requested_at": erasure.requested_at.isoformat(),
        "reason": erasure.reason,
        "status": erasure.status,
        "event": (
            {"partition": erasure.event_partition, "offset": erasure.event_offset}
            if erasure.event_offset is not None
            else None
        ),
        "event_sent_at": erasure.event_sent_at.isoformat() if erasure.event_sent_at else None,
        "monitor_confirmed_at": (
            erasure.monitor_confirmed_at.isoformat() if erasure.monitor_confirmed_at else None
        ),
        "removed": erasure.removed,
    }
