"""Transactional outbox of notifications and the log of every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from churnwatch_alerts.models.audit_log import AutoId
from churnwatch_alerts.models.base import Base, JSONType, UTCDateTime, utcnow


class NotificationStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class Notification(Base):
    """One message to one recipient on one channel, written with the change that caused it."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The dedupe key makes a replayed cause write no second notification.
        UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_dead_at", "dead_at", postgresql_where=text("status = 'dead'")),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(300))
    alert_id: Mapped[str | None] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(String(140))
    channel: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by each claim; an outcome is recorded only by the claim that still holds the row.
    lease_id: Mapped[str | None] = mapped_column(String(32))
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The give-up window starts here after a redrive (else at created_at).
    redriven_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(Base):
    """Delivery log: one row per attempt, successful or not."""

    __tablename__ = "delivery_log"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(BigInteger, index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column()
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
