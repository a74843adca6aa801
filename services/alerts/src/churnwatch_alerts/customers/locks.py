"""Per-customer transaction locks that order alert intake against assignment changes.

Alerts and assignments arrive on different consumers. Both take the locks of their customers
(sorted, so two transactions never wait on each other in a cycle) before reading or writing
routing data: an assignment committed first is seen by the alert's routing, and an alert committed
first is seen (and moved) by the assignment. PostgreSQL uses transaction-scoped advisory locks;
SQLite needs none because it runs one writing transaction at a time.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, TEXT
from sqlalchemy.ext.asyncio import AsyncSession

# Advisory lock namespace of customer ids (first key of the two-key form).
CUSTOMER_LOCK_SPACE = 7301

# Locks are taken in key order, so concurrent transactions queue instead of deadlocking.
_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(:space, k)) FROM "
    "(SELECT DISTINCT hashtext(c) AS k FROM unnest(:ids) AS c ORDER BY k) AS keys"
).bindparams(bindparam("ids", type_=ARRAY(TEXT)))


async def lock_customers(session: AsyncSession, *, customer_ids: Iterable[str]) -> None:
    """Hold each customer's lock until the transaction ends (PostgreSQL; no-op on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    ordered = sorted(set(customer_ids))
    if ordered:
        await session.execute(_LOCK, {"space": CUSTOMER_LOCK_SPACE, "ids": ordered})
