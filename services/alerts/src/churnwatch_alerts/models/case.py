"""Case data beside the alerts: superseded churn-risk versions, notes and contacts, score history.

A case is one customer's alerts (derived by grouping ``alerts``), so these tables hang off the
customer id, not off a case row that would need keeping in step with every alert change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from churnwatch_alerts.models.audit_log import AutoId
from churnwatch_alerts.models.base import Base, JSONType, UTCDateTime, utcnow


class AlertVersion(Base):
    """A superseded version of a churn-risk alert that a newer monitor alert updated in place."""

    __tablename__ = "alert_versions"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # The monitor's id of this version: a redelivered copy of it is recognised and ignored.
    monitor_alert_id: Mapped[str] = mapped_column(String(64), unique=True)
    severity: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    churn_score: Mapped[float | None] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseEntry(Base):
    """A note or a logged contact on a customer's case (the note text never leaves this service)."""

    __tablename__ = "case_entries"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "note" or "contact"
    author: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    contact_kind: Mapped[str | None] = mapped_column(String(16))
    initiated_by: Mapped[str | None] = mapped_column(String(16))
    # The contact.logged event sent to ingest (the monitor sees the contact through it).
    event_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    text: Mapped[str | None] = mapped_column(Text)


class ScorePoint(Base):
    """One point per customer and day of the churn score (the day's last snapshot wins)."""

    __tablename__ = "score_history"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    churn_score: Mapped[float] = mapped_column(Float)
    churn_level: Mapped[str] = mapped_column(String(16))
    churn_probability: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(64))
