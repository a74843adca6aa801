"""API shapes of managers (never ORM models)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from churnwatch_alerts.models import Role


class ManagerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    role: Role = Role.RELATIONSHIP_MANAGER
    team_id: str | None = None
    branch_id: str | None = None
    supervisor_id: str | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)
    email: str | None = Field(default=None, max_length=320)
    webhook_url: str | None = Field(default=None, max_length=2000)
    channels: list[str] = Field(default_factory=list, description='e.g. ["webhook", "email"]')
    low_severity_digest: bool = Field(
        default=True, description="info/watch alerts reach webhook/email in a periodic digest"
    )
    active: bool = True
