"""Dialect-aware INSERT ... ON CONFLICT for the two supported backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An ``insert`` construct with ``on_conflict_*`` methods for the session's dialect."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    if dialect == "sqlite":
        return sqlite.insert(table)
    return postgresql.insert(table)
