"""Latest five-state snapshot per customer, from the compacted customer-state topic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from churnwatch_alerts.models.base import Base, JSONType, UTCDateTime, utcnow


class CustomerStateRecord(Base):
    __tablename__ = "customer_state"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
