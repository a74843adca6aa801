"""The one controlled path past the archive triggers: deletes for an erasure or a retention run.

Value reviews and suggestion outcomes are evidence for the accuracy report, so their triggers
refuse every change (migration 0006). An erasure or a retention run must still delete them: the
deleting transaction opens this gate first, and the triggers (migration 0007) then let its
DELETEs through, only its own and only until it ends. UPDATEs stay refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

GATE = sa.table("privacy_delete_gate", sa.column("reason", sa.String))


async def open_gate(session: AsyncSession, *, reason: str) -> None:
    """Let this transaction delete archived rows (until ``close_gate`` or its end)."""
    if session.get_bind().dialect.name == "postgresql":
        # transaction-local (is_local): gone at commit or rollback, invisible to other sessions
        await session.execute(
            sa.select(sa.func.set_config("churnwatch.privacy_delete", reason, True))
        )
    else:
        # SQLite has no session settings; the row is visible only inside this transaction
        await session.execute(sa.insert(GATE).values(reason=reason))


async def close_gate(session: AsyncSession, *, reason: str) -> None:
    """Close the gate again before the transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.select(sa.func.set_config("churnwatch.privacy_delete", "", True)))
    else:
        await session.execute(sa.delete(GATE).where(GATE.c.reason == reason))
