"""The hook for customers' objections to marketing (no such data in the event contract yet).

When the bank's consent data arrives (a ``customer.profile`` field, a consent event or a lookup
service), implement ``MarketingObjections`` over it and pass it to ``create_app`` via
``app.state.marketing_objections``; every marketing suggestion is then withheld for customers
who objected. Until then nobody is known to have objected.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class MarketingObjections(Protocol):
    async def objects(self, session: AsyncSession, *, customer_id: str) -> bool:
        """Whether the customer objected to marketing."""
        ...


class NoObjectionData:
    """The default: the contract carries no marketing objection, so none is known."""

    async def objects(self, session: AsyncSession, *, customer_id: str) -> bool:
        """Always False: no data."""
        return False
