"""The alert contract between the state monitor (producer) and the alerts service (consumer)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from churnwatch_shared.codes import CounterpartyKind
from churnwatch_shared.money import Amount, Currency
from churnwatch_shared.text import Label, Text

ALERT_SCHEMA_VERSION = 1


class CustomerStateName(StrEnum):
    """The five states of the bank's customer state management, plus the composite churn score."""

    SCALE = "scale"
    STABILITY = "stability"
    RISK = "risk"
    ACCOUNT_FLOW = "account_flow"
    PRODUCT_USAGE = "product_usage"
    COMPOSITE = "composite"


class AlertKind(StrEnum):
    ANOMALY = "anomaly"
    CHURN_RISK = "churn_risk"


class Severity(StrEnum):
    """Ordered from least to most urgent; see ``SEVERITY_RANK``."""

    INFO = "info"
    WATCH = "watch"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_RANK: dict[Severity, int] = {s: i for i, s in enumerate(Severity)}


class Reason(BaseModel):
    """One explainable reason: a code a manager can read plus the numbers behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[Label, Field(min_length=1, max_length=64)]
    state: CustomerStateName
    text: Annotated[Text, Field(max_length=500)]
    observed: float | Label | None = None
    baseline: float | Label | None = None
    window: Label | None = Field(default=None, description='e.g. "7d", "30d", "event"')
    weight: float | None = Field(default=None, description="contribution to the churn score")


class EvidenceEvent(BaseModel):
    """One event behind an alert, as a manager reads it: what, when, how much, with whom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Annotated[Label, Field(min_length=1, max_length=128)]
    event_type: Annotated[Label, Field(min_length=1, max_length=64)] = Field(
        description='e.g. "transaction.posted"'
    )
    occurred_at: AwareDatetime
    amount: Amount | None = None
    currency: Currency | None = None
    counterparty_kind: CounterpartyKind | None = None


class Alert(BaseModel):
    """An anomaly or churn-risk alert for one customer, with everything needed to act on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = ALERT_SCHEMA_VERSION
    alert_id: Annotated[Label, Field(min_length=8, max_length=64)]
    kind: AlertKind
    customer_id: Annotated[Label, Field(min_length=1, max_length=128)]
    state: CustomerStateName
    rule_id: Annotated[Label, Field(min_length=1, max_length=64)]
    severity: Severity
    priority: int = Field(ge=0, le=100, description="severity weighted by customer value")
    title: Annotated[Label, Field(max_length=200)]
    reasons: list[Reason] = Field(min_length=1)
    observed: float | Label | None = None
    baseline: float | Label | None = None
    window: Label | None = None
    churn_score: float | None = Field(default=None, ge=0, le=100)
    evidence_event_ids: list[Label] = Field(default_factory=list, max_length=50)
    evidence: list[EvidenceEvent] = Field(
        default_factory=list,
        max_length=50,
        description="optional details of the evidence events (type, date, amount, counterparty)",
    )
    ruleset_version: Label
    occurred_at: AwareDatetime = Field(description="event time of the event that fired the rule")
    detected_at: AwareDatetime = Field(description="processing time in the monitor")
    tier: Label | None = None
    segment: Label | None = None
    branch_id: Annotated[Label, Field(max_length=128)] | None = None
    supersedes: Annotated[Label, Field(max_length=64)] | None = Field(
        default=None,
        description="churn risk: the id of the same episode's previous alert this one updates",
    )


def alert_id_for(*, customer_id: str, rule_id: str, condition_key: str) -> str:
    """Deterministic alert id: the same condition for the same customer always gets the same id.

    ``condition_key`` names the episode (e.g. the event id that opened it, or the severity and
    the window start), so a replay or a restart re-derives the id instead of minting a new one.
    """
    digest = hashlib.sha256(f"{customer_id}\x1f{rule_id}\x1f{condition_key}".encode()).hexdigest()
    return f"al_{digest[:32]}"


def severity_at_least(severity: Severity, floor: Severity) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[floor]


def as_utc(moment: datetime) -> datetime:
    """Helper for producers of alerts: refuse naive datetimes instead of guessing a zone."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime; ChurnWatch times are timezone-aware UTC")
    return moment
