"""Archived value reviews: one immutable row per customer and period, with the inputs used."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from churnwatch_alerts.models.audit_log import AutoId
from churnwatch_alerts.models.base import Base, JSONType, UTCDateTime, utcnow

MONEY = Numeric(20, 2)


class ValueReview(Base):
    __tablename__ = "value_reviews"
    __table_args__ = (
        # One review per customer and period: a repeated pass inserts nothing (ON CONFLICT).
        UniqueConstraint("customer_id", "period", name="uq_value_reviews_customer_period"),
        Index("ix_value_reviews_period_at_risk", "period", "value_at_risk"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    config_version: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    current_value: Mapped[Decimal] = mapped_column(MONEY)
    cost_to_serve: Mapped[Decimal] = mapped_column(MONEY)
    income: Mapped[dict[str, str]] = mapped_column(JSONType)
    expected_value: Mapped[Decimal | None] = mapped_column(MONEY)
    trend: Mapped[Decimal | None] = mapped_column(MONEY)
    potential_value: Mapped[Decimal] = mapped_column(MONEY)
    churn_likelihood: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    value_at_risk: Mapped[Decimal] = mapped_column(MONEY)
    lifecycle: Mapped[str] = mapped_column(String(16))
    strategy: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSONType)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType)
