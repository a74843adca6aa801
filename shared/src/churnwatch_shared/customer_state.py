"""The customer five-state snapshot the state monitor publishes and the manager UI shows."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from churnwatch_shared.alerts import CustomerStateName
from churnwatch_shared.text import Label


class StateLevel(StrEnum):
    NORMAL = "normal"
    WATCH = "watch"
    WARNING = "warning"
    CRITICAL = "critical"


class StateView(BaseModel):
    """One of the five states: a 0-100 concern score, a level and the metrics behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: StateLevel = StateLevel.NORMAL
    score: float = Field(default=0.0, ge=0, le=100, description="0 = healthy, 100 = worst")
    metrics: dict[Label, float | int | Label | bool | None] = Field(default_factory=dict)


class CustomerStateSnapshot(BaseModel):
    """Latest state of one customer; the compacted customer-state topic holds one per customer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: Label
    as_of: AwareDatetime = Field(description="event time of the newest applied event")
    churn_score: float = Field(ge=0, le=100)
    churn_level: StateLevel
    ruleset_version: Label
    tier: Label | None = None
    segment: Label | None = None
    branch_id: Label | None = None
    events_applied: int = Field(ge=0)
    states: dict[CustomerStateName, StateView]
