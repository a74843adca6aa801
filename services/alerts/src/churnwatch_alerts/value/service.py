"""Value reviews: the periodic pass that archives them, and the reads (all audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.access import visible_customers
from churnwatch_alerts.assignments import repository as assignments_repo
from churnwatch_alerts.audit import record
from churnwatch_alerts.auth.principal import Principal
from churnwatch_alerts.models import Assignment, Role, ValueReview
from churnwatch_alerts.value import repository
from churnwatch_alerts.value.compute import PreviousReview, review
from churnwatch_alerts.value.config import ValueConfig
from churnwatch_alerts.value.periods import Period, PeriodError, PeriodKind, parse_period
from churnwatch_alerts.value.schemas import (
    AccuracyOut,
    AccuracyPeriod,
    AtRiskItem,
    AtRiskPage,
    BookGroup,
    BookOut,
    CustomerValueOut,
    ValueReason,
    ValueReviewOut,
)
from churnwatch_alerts.value.wording import accuracy_text, period_name, reason_text, review_words

SYSTEM_VALUE = "system:value"
# Customers reviewed per transaction: short transactions, and a crash repeats at most one batch's work.
REVIEW_BATCH = 500
# A prediction within this share of the actual value counts as "within" in the accuracy report.
TOLERANCE = Decimal("0.20")

GroupBy = Literal["manager", "team", "branch"]


@dataclass(slots=True)
class ReviewPass:
    """What one pass over a period did."""

    period: str
    reviewed: int = 0


def review_scope(principal: Principal) -> ColumnElement[bool]:
    """Condition on ``ValueReview``: reviews of the customers the caller serves or supervises."""
    if principal.role is Role.ADMIN:
        return true()
    return ValueReview.customer_id.in_(
        select(Assignment.customer_id).where(visible_customers(principal))
    )


async def review_batch(
    session: AsyncSession, *, period: Period, config: ValueConfig, now: datetime
) -> int:
    """Review up to one batch of the period's unreviewed customers; the number archived."""
    states = await repository.unreviewed_states(session, period=period.label, limit=REVIEW_BATCH)
    if not states:
        return 0
    ids = [s.customer_id for s in states]
    previous = await repository.reviews_for(
        session, customer_ids=ids, period=period.previous().label
    )
    assignments = await assignments_repo.of_customers(session, customer_ids=ids)
    rows: list[dict[str, Any]] = []
    for state in states:
        before = previous.get(state.customer_id)
        assignment = assignments.get(state.customer_id)
        result = review(
            snapshot=state.snapshot,
            config=config,
            months=period.months,
            previous=PreviousReview(before.current_value, before.potential_value)
            if before is not None
            else None,
            tier=assignment.tier if assignment is not None else None,
            segment=assignment.segment if assignment is not None else None,
        )
        rows.append(
            {
                "customer_id": state.customer_id,
                "period": period.label,
                "period_start": period.start,
                "period_end": period.end,
                "reviewed_at": now,
                "config_version": config.version,
                "currency": config.currency,
                "current_value": result.current_value,
                "cost_to_serve": result.cost_to_serve,
                "income": {k: str(v) for k, v in result.income.items()},
                "expected_value": result.expected_value,
                "trend": result.trend,
                "potential_value": result.potential_value,
                "churn_likelihood": result.churn_likelihood,
                "value_at_risk": result.value_at_risk,
                "lifecycle": result.lifecycle.value,
                "strategy": result.strategy.value,
                "reasons": result.reasons,
                "inputs": result.inputs,
            }
        )
    inserted = await repository.insert_reviews(session, rows=rows)
    record(
        session,
        actor=SYSTEM_VALUE,
        action="value.reviewed",
        at=now,
        detail={"period": period.label, "customers": inserted, "config_version": config.version},
    )
    return inserted


async def review_period(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    period: Period,
    config: ValueConfig,
    now: datetime,
) -> ReviewPass:
    """Review every customer with a snapshot for ``period``, one transaction per batch.

    Idempotent: customers already reviewed for the period are skipped, so a second pass (or a
    restart half-way) archives only what is missing.
    """
    result = ReviewPass(period=period.label)
    while True:
        async with sessionmaker() as session, session.begin():
            done = await review_batch(session, period=period, config=config, now=now)
        result.reviewed += done
        if done == 0:
            return result


async def customer_value(
    session: AsyncSession, *, principal: Principal, customer_id: str, limit: int, now: datetime
) -> CustomerValueOut:
    """The customer's archived reviews, newest first."""
    rows = await repository.of_customer(session, customer_id=customer_id, limit=limit)
    record(
        session, actor=principal.id, action="customer.value_read", customer_id=customer_id, at=now
    )
    history = [worded(ValueReviewOut.model_validate(r)) for r in rows]
    return CustomerValueOut(
        customer_id=customer_id, latest=history[0] if history else None, history=history
    )


def worded(out: ValueReviewOut) -> ValueReviewOut:
    """The review with its figures worded and its archived reasons shown as sentences."""
    cur = out.currency
    out.reasons = [
        ValueReason(code=r.code, text=reason_text(r.text, currency=cur)) for r in out.reasons
    ]
    out.words = review_words(
        period=out.period,
        currency=cur,
        current_value=out.current_value,
        income=out.income,
        cost_to_serve=out.cost_to_serve,
        expected_value=out.expected_value,
        trend=out.trend,
        potential_value=out.potential_value,
        churn_likelihood=out.churn_likelihood,
        value_at_risk=out.value_at_risk,
        lifecycle=out.lifecycle,
        strategy=out.strategy,
    )
    return out


async def _period(
    session: AsyncSession, *, label: str | None, kind: PeriodKind, scope: ColumnElement[bool]
) -> str | None:
    if label is not None:
        return parse_period(label, kind=kind).label
    return await repository.latest_period(session, scope=scope)


async def at_risk(
    session: AsyncSession,
    *,
    principal: Principal,
    period: str | None,
    kind: PeriodKind,
    limit: int,
    offset: int,
    now: datetime,
) -> AtRiskPage:
    """The caller's customers by value at risk (churn likelihood x value), highest first."""
    scope = review_scope(principal)
    label = await _period(session, label=period, kind=kind, scope=scope)
    total = 0
    rows: list[ValueReview] = []
    if label is not None:
        total, rows = await repository.at_risk(
            session, period=label, scope=scope, limit=limit, offset=offset
        )
    record(
        session,
        actor=principal.id,
        action="value.at_risk_read",
        at=now,
        detail={"period": label, "customer_ids": [r.customer_id for r in rows]},
    )
    return AtRiskPage(
        period=label,
        period_name=period_name(label) if label is not None else None,
        total=total,
        limit=limit,
        offset=offset,
        items=[AtRiskItem.model_validate(r) for r in rows],
    )


async def book_at_risk(
    session: AsyncSession,
    *,
    principal: Principal,
    period: str | None,
    kind: PeriodKind,
    group_by: GroupBy,
    config: ValueConfig,
    now: datetime,
) -> BookOut:
    """The book at risk summed per manager, team or branch, over the caller's customers."""
    scope = review_scope(principal)
    label = await _period(session, label=period, kind=kind, scope=scope)
    rows = (
        await repository.book(session, period=label, scope=scope, group_by=group_by)
        if label is not None
        else []
    )
    record(
        session,
        actor=principal.id,
        action="value.book_read",
        at=now,
        detail={"period": label, "group_by": group_by},
    )
    groups = [
        BookGroup(
            key=r.key,
            customers=r.customers,
            current_value=r.current_value,
            potential_value=r.potential_value,
            value_at_risk=r.value_at_risk,
        )
        for r in rows
    ]
    return BookOut(
        period=label,
        period_name=period_name(label) if label is not None else None,
        group_by=group_by,
        currency=config.currency,
        groups=groups,
        total_value_at_risk=sum((g.value_at_risk for g in groups), Decimal(0)),
    )


async def accuracy_report(
    session: AsyncSession,
    *,
    principal: Principal,
    kind: PeriodKind,
    periods: int,
    currency: str,
    now: datetime,
) -> AccuracyOut:
    """Per period: predicted next-period value against the value the next review found."""
    scope = review_scope(principal)
    labels = await repository.reviewed_periods(session, scope=scope, limit=periods + 1)
    out: list[AccuracyPeriod] = []
    for label in labels:
        try:
            predicted = parse_period(label, kind=kind)
        except PeriodError:
            continue  # reviewed under another period kind (the setting changed since)
        actual = predicted.next().label
        if actual not in labels:
            continue  # not yet followed by a review: nothing to compare
        row = await repository.accuracy(
            session, period=label, next_period=actual, scope=scope, tolerance=TOLERANCE
        )
        shown = AccuracyPeriod(
            period=label,
            actual_period=actual,
            customers=row.customers,
            mae=row.mae.quantize(Decimal("0.01")) if row.mae is not None else None,
            bias=row.bias.quantize(Decimal("0.01")) if row.bias is not None else None,
            within_20pct_share=round(row.within / row.customers, 4) if row.customers else None,
        )
        shown.text = accuracy_text(shown, currency=currency)
        out.append(shown)
    record(
        session,
        actor=principal.id,
        action="value.accuracy_read",
        at=now,
        detail={"periods": [p.period for p in out]},
    )
    return AccuracyOut(tolerance=TOLERANCE, currency=currency, periods=out[:periods])
