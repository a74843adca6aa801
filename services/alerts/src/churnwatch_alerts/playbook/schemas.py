"""API shapes of next-best-action suggestions, their outcomes and the effect report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from churnwatch_alerts.models import SuggestionOutcomeKind


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Annotated[str, Field(min_length=1, max_length=64, description="playbook action code")]
    outcome: SuggestionOutcomeKind
    note: Annotated[str, Field(max_length=2000)] | None = None


class OutcomeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: str
    action_code: str
    playbook_version: str
    outcome: SuggestionOutcomeKind
    note: str | None
    recorded_by: str
    recorded_at: datetime


class SuggestionOut(BaseModel):
    code: str
    title: str
    kind: str
    priority: int
    due_within_hours: int | None
    because: list[str]
    latest_outcome: OutcomeOut | None


class HeldBackOut(BaseModel):
    code: str
    title: str = Field(description="the action's title from the playbook, as a manager reads it")
    why: str


class SuggestionsOut(BaseModel):
    customer_id: str
    playbook_version: str
    control_group: bool = Field(description="true: this customer gets no suggestion (the control)")
    marketing_objection: bool
    suggestions: list[SuggestionOut]
    withheld: dict[str, str] = Field(description="eligible actions held back, with why")
    held_back: list[HeldBackOut] = Field(
        default_factory=list, description="the same actions held back, with their titles"
    )


class EffectArm(BaseModel):
    arm: str
    customers: int
    retained: int
    lost: int
    retained_rate: float | None


class EffectReport(BaseModel):
    playbook_version: str
    control_share: float
    since: datetime | None
    until: datetime | None
    arms: list[EffectArm]
    difference: float | None = Field(description="retained rate with suggestions minus without")
    outcomes: dict[str, int] = Field(description="suggestion outcomes recorded, by kind")
    method: str
