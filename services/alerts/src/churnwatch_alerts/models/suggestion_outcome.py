"""What a manager did with a next-best-action suggestion: accepted, declined or done (append-only)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from churnwatch_alerts.models.audit_log import AutoId
from churnwatch_alerts.models.base import Base, UTCDateTime, utcnow


class SuggestionOutcomeKind(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    DONE = "done"


class SuggestionOutcome(Base):
    __tablename__ = "suggestion_outcomes"
    __table_args__ = (Index("ix_suggestion_outcomes_customer", "customer_id", "action_code"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    action_code: Mapped[str] = mapped_column(String(64))
    playbook_version: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
