"""API shapes of alerts (never ORM models)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from churnwatch_alerts.models import AlertStatus, Outcome


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str
    kind: str
    state: str
    rule_id: str
    severity: str
    priority: int
    title: str
    status: AlertStatus
    assigned_to: str
    occurred_at: datetime
    detected_at: datetime
    received_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    snoozed_until: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: Outcome | None
    note: str | None
    escalation_level: int
    escalated_to: str | None


class AlertDetail(AlertOut):
    """One alert with its evidence (the wire alert) and the customer's five-state snapshot."""

    evidence: dict[str, Any]
    customer_state: dict[str, Any] | None
    # what the inbox shows: the reasons and the evidence events in plain language
    rule_name: str = ""
    reason_lines: list[str] = Field(default_factory=list)
    evidence_lines: list[str] = Field(default_factory=list)


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int
    limit: int
    offset: int


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


class SnoozeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime = Field(description="timezone-aware time the alert reopens")
    note: str | None = Field(default=None, max_length=2000)


def require_outcome(value: object) -> object:
    """No default outcome: a missing one is refused with the accepted values (a guessed
    "retained" would corrupt the precision figures)."""
    if value is None:
        accepted = ", ".join(o.value for o in Outcome)
        raise ValueError(f"outcome is required; accepted: {accepted}")
    return value


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Annotated[Outcome, BeforeValidator(require_outcome)] = Field(
        default=None, validate_default=True, description="required, no default"
    )
    note: str | None = Field(default=None, max_length=2000)


class RulePrecision(BaseModel):
    rule_id: str
    rule_name: str = Field(default="", description="the rule's name for a manager")
    resolved: int
    outcomes: dict[str, int]
    precision: float | None = Field(
        description="share of judged alerts that were not false positives (not_actionable excluded)"
    )
