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


class ModelReason(BaseModel):
    """One feature's push on the churn model's score, worded for a relationship manager."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature: Label
    text: Label = Field(description='e.g. "card spending, last 4 weeks: 300 CNY (usually 1,200)"')
    contribution: float = Field(description="log-odds the feature adds to the score (tree SHAP)")
    value: float | None = None
    baseline: float | None = Field(default=None, description="the customer's own usual value")
    peers: float | None = Field(default=None, description="median of the customer's peer cohort")


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
    # set when a churn model is loaded (issue 16); churn_level then follows the probability
    churn_probability: float | None = Field(default=None, ge=0, le=1)
    model_version: Label | None = None
    model_reasons: list[ModelReason] = Field(default_factory=list, max_length=10)
