"""Queries on customer_state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import CustomerStateRecord
from churnwatch_alerts.upsert import insert_for


async def get_state(session: AsyncSession, *, customer_id: str) -> CustomerStateRecord | None:
    """The latest snapshot of one customer."""
    return await session.get(CustomerStateRecord, customer_id)


async def upsert_state(
    session: AsyncSession,
    *,
    customer_id: str,
    as_of: datetime,
    snapshot: dict[str, Any],
    now: datetime,
) -> None:
    """Keep the newest snapshot by event time; an older one (a replay) changes nothing."""
    table = CustomerStateRecord.__table__
    stmt = insert_for(session, CustomerStateRecord).values(
        customer_id=customer_id, as_of=as_of, snapshot=snapshot, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={"as_of": stmt.excluded.as_of, "snapshot": stmt.excluded.snapshot, "updated_at": now},
        where=table.c.as_of <= stmt.excluded.as_of,
    )
    await session.execute(stmt)


async def upsert_states(
    session: AsyncSession, *, rows: list[tuple[str, datetime, dict[str, Any]]], now: datetime
) -> None:
    """Many customers' snapshots (one per customer) in one statement; older ones change nothing."""
    table = CustomerStateRecord.__table__
    values = [
        {"customer_id": c, "as_of": as_of, "snapshot": snapshot, "updated_at": now}
        for c, as_of, snapshot in sorted(rows, key=lambda r: r[0])
    ]
    if not values:
        return
    stmt = insert_for(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={
            "as_of": stmt.excluded.as_of,
            "snapshot": stmt.excluded.snapshot,
            "updated_at": stmt.excluded.updated_at,
        },
        where=table.c.as_of <= stmt.excluded.as_of,
    )
    # Executed for many rows: SQLAlchemy sends them as multi-row VALUES with one cached statement.
    await session.execute(stmt, values)
