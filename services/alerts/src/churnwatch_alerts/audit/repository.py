"""Queries on audit_log for auditors: filtered, newest first, paged by id (keyset)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from churnwatch_alerts.models import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor: str | None = None
    customer_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def as_detail(self) -> dict[str, str]:
        """The filters that were set, as text (what the audit row of the read records)."""
        values = {
            "actor": self.actor,
            "customer_id": self.customer_id,
            "action": self.action,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {k: v for k, v in values.items() if v is not None}


def _filtered(filters: AuditFilters) -> Select[AuditEntry]:
    stmt = select(AuditEntry)
    if filters.actor is not None:
        stmt = stmt.where(AuditEntry.actor == filters.actor)
    if filters.customer_id is not None:
        stmt = stmt.where(AuditEntry.customer_id == filters.customer_id)
    if filters.action is not None:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.since is not None:
        stmt = stmt.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEntry.at < filters.until)
    return stmt


async def page(
    session: AsyncSession, *, filters: AuditFilters, before_id: int | None, limit: int
) -> Sequence[AuditEntry]:
    """Up to ``limit`` rows, newest first, with ids below ``before_id`` when given."""
    stmt = _filtered(filters)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    return (await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit))).all()


async def chunk(
    session: AsyncSession, *, filters: AuditFilters, after_id: int, limit: int
) -> Sequence[AuditEntry]:
    """Up to ``limit`` rows in id order past ``after_id`` (the export walks the log oldest first)."""
    stmt = _filtered(filters).where(AuditEntry.id > after_id)
    return (await session.scalars(stmt.order_by(AuditEntry.id).limit(limit))).all()
