"""Privacy records: proofs of erasure and customers' objections to profiling for marketing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from churnwatch_alerts.models.base import Base, JSONType, UTCDateTime, utcnow


class ErasureStatus(StrEnum):
    # the alerts database is erased; the event for the monitor could not be sent yet
    EVENT_NOT_SENT = "event_not_sent"
    # the event is on EVENTS; the monitor's snapshot tombstone has not come back yet
    AWAITING_MONITOR = "awaiting_monitor"
    COMPLETED = "completed"


class ErasureRecord(Base):
    """The proof of one erasure: who asked, when, why, and what each store removed."""

    __tablename__ = "privacy_erasures"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Kept: the proof must say whose data went (the bank's own pseudonymous customer key).
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    # per store: what was removed, counted (and what expires by itself, with when)
    removed: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    event_partition: Mapped[int | None] = mapped_column(Integer)
    event_offset: Mapped[int | None] = mapped_column(BigInteger)
    event_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    monitor_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MarketingObjection(Base):
    """A customer objected to profiling for marketing (GDPR Art. 21(2), PIPL Art. 24)."""

    __tablename__ = "privacy_objections"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str | None] = mapped_column(String(32))
