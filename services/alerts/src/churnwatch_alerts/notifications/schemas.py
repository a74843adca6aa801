"""API shapes of notification dead letters (never ORM models)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from churnwatch_alerts.models import NotificationStatus

MAX_ID = 2**63 - 1


class DeadLetterOut(BaseModel):
    id: int
    recipient: str
    channel: str
    event: str
    alert_id: str | None
    customer_id: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    dead_at: datetime | None
    redriven_at: datetime | None
    status: NotificationStatus


class DeadLetterPage(BaseModel):
    total: int
    items: list[DeadLetterOut]


class RedriveRequest(BaseModel):
    """Which dead letters to redrive: by ids, recipient and/or channel (at least one)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = Field(default=None, min_length=1, max_length=1000)
    recipient: str | None = Field(default=None, min_length=1, max_length=140)
    channel: str | None = Field(default=None, min_length=1, max_length=32)

    @model_validator(mode="after")
    def _some_filter(self) -> RedriveRequest:
        if self.ids is None and self.recipient is None and self.channel is None:
            raise ValueError("give ids, recipient or channel (redriving everything is the CLI's)")
        if self.ids is not None and any(not 1 <= i <= MAX_ID for i in self.ids):
            raise ValueError(f"ids are notification ids from 1 to {MAX_ID}")
        return self


class RedriveResult(BaseModel):
    redriven: list[int]
