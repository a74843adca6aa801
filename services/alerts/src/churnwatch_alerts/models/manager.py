"""Managers: relationship managers, team leads, branch heads and admins who log in and get alerts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, true
from sqlalchemy.orm import Mapped, mapped_column

from churnwatch_alerts.models.base import Base, JSONType, UTCDateTime, utcnow


class Role(StrEnum):
    RELATIONSHIP_MANAGER = "relationship_manager"
    TEAM_LEAD = "team_lead"
    BRANCH_HEAD = "branch_head"
    ADMIN = "admin"
    # Reads and exports the audit log; sees no customer data otherwise.
    AUDITOR = "auditor"
    # Erasures, objections and retention runs; sees no customer data otherwise.
    PRIVACY_OFFICER = "privacy_officer"


class Manager(Base):
    __tablename__ = "managers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), default=Role.RELATIONSHIP_MANAGER.value)
    team_id: Mapped[str | None] = mapped_column(String(128), index=True)
    branch_id: Mapped[str | None] = mapped_column(String(128), index=True)
    supervisor_id: Mapped[str | None] = mapped_column(String(128))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    email: Mapped[str | None] = mapped_column(String(320))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    # Channels beyond the in-app inbox, e.g. ["webhook", "email"].
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Info/watch alerts reach webhook/email in a periodic digest instead of one by one.
    low_severity_digest: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
