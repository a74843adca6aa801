"""Who serves a customer ("1+1+N"): relationship manager, wealth advisor, service team, branch."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from churnwatch_alerts.models.base import Base, UTCDateTime, utcnow


class Assignment(Base):
    __tablename__ = "assignments"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    relationship_manager_id: Mapped[str | None] = mapped_column(String(128), index=True)
    wealth_advisor_id: Mapped[str | None] = mapped_column(String(128), index=True)
    service_team_id: Mapped[str | None] = mapped_column(String(128))
    branch_id: Mapped[str | None] = mapped_column(String(128), index=True)
    tier: Mapped[str | None] = mapped_column(String(32))
    segment: Mapped[str | None] = mapped_column(String(32))
    # From customer.profile: shown to the customer's managers only (never logged).
    display_name: Mapped[str | None] = mapped_column(String(200))
    customer_since: Mapped[date | None] = mapped_column(Date)
    # Event time of the newest applied assignment event, so an older replay cannot win.
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
