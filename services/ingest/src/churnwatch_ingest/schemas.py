"""API answer shapes of the ingest endpoints (what producers read back)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class ItemStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"


class FieldErrorOut(BaseModel):
    path: str = Field(description="JSON path into the event, e.g. $.payload.amount")
    message: str
    accepted: str | list[str] | None = Field(default=None, description="what would be accepted")


class ErrorAnswer(BaseModel):
    error: str = Field(description="machine-readable reason, e.g. schema, malformed_json")
    message: str
    errors: list[FieldErrorOut] = Field(default_factory=list)


class EventAnswer(BaseModel):
    status: ItemStatus = Field(description="accepted (202) or duplicate (200)")
    event_id: str
    event_type: str


class ItemResult(BaseModel):
    index: int = Field(description="0-based position in the batch (NDJSON: non-blank line number)")
    status: ItemStatus
    event_id: str | None = None
    event_type: str | None = None
    error: str | None = Field(default=None, description="reason when rejected or unavailable")
    message: str | None = None
    errors: list[FieldErrorOut] = Field(default_factory=list)


class BatchAnswer(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    unavailable: int = Field(description="not acknowledged by the broker; resend these (503)")
    results: list[ItemResult]
