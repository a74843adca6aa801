"""The intake's side of erasure: drop data from before an erasure, act on the monitor's tombstone.

Records the monitor produced from a customer's events before the erasure event may still be in
flight (on ALERTS, on the snapshot topic, in this intake's poll) when the alerts database was
erased. They are recognised by their event time: an alert, snapshot, profile or assignment of
an erased customer that is not newer than the erasure request is not stored. Data about events
after the request (the bank went on sending them) is new data and is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import CustomerStateRecord
from churnwatch_alerts.privacy.service import confirm_monitor, erased_before

T = TypeVar("T")


async def drop_erased(
    session: AsyncSession, items: list[T], *, key: Callable[[T], tuple[str, datetime]]
) -> list[T]:
    """``items`` without those of erased customers dated at or before the erasure request."""
    if not items:
        return items
    cut = await erased_before(session, customer_ids={key(i)[0] for i in items})
    if not cut:
        return items
    kept: list[T] = []
    for item in items:
        customer_id, at = key(item)
        erased_at = cut.get(customer_id)
        if erased_at is None or at > erased_at:
            kept.append(item)
    return kept


async def erase_tombstoned(session: AsyncSession, *, customer_ids: set[str], now: datetime) -> None:
    """The monitor deleted these customers' state: drop the stored snapshot, complete erasures."""
    for customer_id in sorted(customer_ids):
        await session.execute(
            delete(CustomerStateRecord).where(CustomerStateRecord.customer_id == customer_id)
        )
        await confirm_monitor(session, customer_id=customer_id, now=now)
