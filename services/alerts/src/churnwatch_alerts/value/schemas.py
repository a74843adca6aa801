"""API shapes of value analysis (never ORM models). Money is a decimal string, as on the wire."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class ValueReason(BaseModel):
    code: str
    text: str


class ValueWords(BaseModel):
    """A review's figures as a manager reads them (value/wording.py)."""

    period: str
    current_value: str
    trend: str
    potential_value: str
    value_at_risk: str
    lifecycle: str
    strategy: str


class ValueReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    period: str
    period_start: datetime
    period_end: datetime
    reviewed_at: datetime
    config_version: str
    currency: str
    current_value: Decimal
    income: dict[str, Decimal]
    cost_to_serve: Decimal
    expected_value: Decimal | None
    trend: Decimal | None
    potential_value: Decimal
    churn_likelihood: Decimal
    value_at_risk: Decimal
    lifecycle: Literal["new", "growth", "mature", "declining", "dormant"]
    strategy: Literal["deepen", "maintain", "reduce", "exit"]
    reasons: list[ValueReason]
    inputs: dict[str, Any]
    words: ValueWords | None = None


class CustomerValueOut(BaseModel):
    customer_id: str
    latest: ValueReviewOut | None
    history: list[ValueReviewOut]


class AtRiskItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    period: str
    currency: str
    current_value: Decimal
    potential_value: Decimal
    churn_likelihood: Decimal
    value_at_risk: Decimal
    lifecycle: str
    strategy: str


class AtRiskPage(BaseModel):
    period: str | None
    period_name: str | None = None
    total: int
    limit: int
    offset: int
    items: list[AtRiskItem]


class BookGroup(BaseModel):
    key: str | None
    customers: int
    current_value: Decimal
    potential_value: Decimal
    value_at_risk: Decimal


class BookOut(BaseModel):
    period: str | None
    period_name: str | None = None
    group_by: Literal["manager", "team", "branch"]
    currency: str
    groups: list[BookGroup]
    total_value_at_risk: Decimal


class AccuracyPeriod(BaseModel):
    period: str
    actual_period: str
    customers: int
    mae: Decimal | None
    bias: Decimal | None
    within_20pct_share: float | None
    text: str = ""


class AccuracyOut(BaseModel):
    tolerance: Decimal
    currency: str
    periods: list[AccuracyPeriod]
