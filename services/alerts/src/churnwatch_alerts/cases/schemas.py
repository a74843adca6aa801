"""API shapes of cases (never ORM models)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from churnwatch_alerts.alerts.schemas import AlertOut, require_outcome
from churnwatch_alerts.models import Outcome
from churnwatch_alerts.playbook.schemas import SuggestionsOut
from churnwatch_alerts.value.schemas import CustomerValueOut
from churnwatch_shared.events import ContactKind


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class CaseSummary(BaseModel):
    customer_id: str
    display_name: str | None
    segment: str | None
    tier: str | None
    status: CaseStatus
    top_priority: int
    alerts: int
    open_alerts: int
    assignee: str | None = Field(description="the relationship manager, else the queue")
    escalated: bool
    sla_breached: bool
    sla_due_at: datetime | None = Field(description="next SLA deadline of an open alert")
    last_alert_at: datetime
    value_at_risk: Decimal | None = Field(
        default=None, description="from the customer's newest value review; null: none yet"
    )
    value_currency: str | None = Field(default=None, description="currency of value_at_risk")


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: last")
    order: Literal["priority", "value_at_risk"] = Field(
        default="priority", description="the order of this page (and of its cursor)"
    )


class ScorePointOut(BaseModel):
    day: date
    churn_score: float
    churn_level: str
    churn_probability: float | None


class Customer360(BaseModel):
    customer_id: str
    display_name: str | None
    segment: str | None
    tier: str | None
    branch_id: str | None
    relationship_manager_id: str | None
    wealth_advisor_id: str | None
    service_team_id: str | None
    customer_since: date | None
    tenure_days: int | None
    financial_assets: str | None = Field(description='e.g. "1,234,567 CNY"')
    products_held: int | None
    last_contact_at: datetime | None
    last_contact_kind: str | None
    churn_score: float | None
    churn_level: str | None
    churn_probability: float | None
    model_version: str | None
    score_trend: list[ScorePointOut] = Field(description="one point a day, last 90 days")


class ReasonOut(BaseModel):
    alert_id: str
    code: str
    text: str = Field(description="plain language, with amounts, baselines and dates")


class TimelineItem(BaseModel):
    at: datetime
    kind: str = Field(
        description="alert, alert_version, state_change, contact, note, hand_over, escalation, "
        "acknowledged, snoozed, resolved, reopened"
    )
    text: str
    actor: str | None = None
    alert_id: str | None = None


class CaseDetail(BaseModel):
    summary: CaseSummary
    customer: Customer360
    alerts: list[AlertOut]
    reasons: list[ReasonOut]
    evidence: list[str]
    timeline: list[TimelineItem]
    value: CustomerValueOut | None = Field(
        default=None,
        description="value reviews, newest first (latest null: no review yet for this customer)",
    )
    next_best_action: SuggestionsOut | None = Field(
        default=None, description="suggested actions (none for a control-group customer)"
    )


class NoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)


class ContactRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ContactKind = Field(description="call, visit, meeting or message")
    initiated_by: Literal["bank", "customer"] = "bank"
    note: str | None = Field(default=None, max_length=2000)


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: str
    kind: str
    author: str
    at: datetime
    contact_kind: str | None
    initiated_by: str | None
    event_id: str | None
    text: str | None


class BulkAckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_ids: list[str] = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class BulkAckResult(BaseModel):
    acknowledged: int = Field(description="alerts acknowledged")
    cases: list[str] = Field(description="customers whose cases were acknowledged")
    not_found: list[str] = Field(description="customer ids not among the caller's cases")


class CaseResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Annotated[Outcome, BeforeValidator(require_outcome)] = Field(
        default=None,
        validate_default=True,
        description="required: retained, lost, false_positive, not_actionable",
    )
    note: str | None = Field(default=None, max_length=2000)


class ManagerScore(BaseModel):
    manager_id: str
    team_id: str | None
    cases: int
    open_cases: int
    alerts: int
    acknowledged: int
    median_response_minutes: float | None = Field(description="alert received to first action")
    sla_kept: int
    sla_breached: int
    resolved_by_outcome: dict[str, int]
    value_retained: Decimal = Field(
        default=Decimal(0), description="current value of customers resolved as retained"
    )
    value_lost: Decimal = Field(
        default=Decimal(0), description="current value of customers resolved as lost"
    )
    value_at_risk: Decimal = Field(
        default=Decimal(0), description="value at risk of customers with an unresolved alert"
    )


class Scorecard(BaseModel):
    managers: list[ManagerScore]
    team: ManagerScore = Field(description="the totals over every manager shown")
    currency: str = Field(default="CNY", description="currency of the value figures")
