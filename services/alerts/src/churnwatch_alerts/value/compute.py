"""One customer's value review from a snapshot: pure arithmetic on Decimals, no I/O.

Formulas (README "Value analysis and next best action"): a period's income is each balance times
its annual margin times the period's months / 12, plus fees; current value is income minus the
cost to serve; potential value is ``(1 - p) x (current + w x change)``; value at risk is
``p x max(current, 0)``, where ``p`` is the churn likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from churnwatch_alerts.value.config import ValueConfig
from churnwatch_alerts.value.wording import money, per_period

CENT = Decimal("0.01")
LIKELIHOOD_PLACES = Decimal("0.0001")
WEEKS_PER_MONTH = Decimal(52) / Decimal(12)


class Lifecycle(StrEnum):
    NEW = "new"
    GROWTH = "growth"
    MATURE = "mature"
    DECLINING = "declining"
    DORMANT = "dormant"


class Strategy(StrEnum):
    DEEPEN = "deepen"
    MAINTAIN = "maintain"
    REDUCE = "reduce"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class PreviousReview:
    """What the previous period's review said (its actual value and its prediction)."""

    current_value: Decimal
    potential_value: Decimal


@dataclass(frozen=True, slots=True)
class ReviewResult:
    current_value: Decimal
    income: dict[str, Decimal]
    cost_to_serve: Decimal
    expected_value: Decimal | None
    trend: Decimal | None
    potential_value: Decimal
    churn_likelihood: Decimal
    value_at_risk: Decimal
    lifecycle: Lifecycle
    strategy: Strategy
    reasons: list[dict[str, str]]
    inputs: dict[str, Any] = field(default_factory=dict)


def cents(amount: Decimal) -> Decimal:
    """Round money to cents, half up (the bank's usual rounding)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _metric(snapshot: dict[str, Any], name: str, unreadable: list[str]) -> Decimal:
    state, _, key = name.partition(".")
    value = (((snapshot.get("states") or {}).get(state) or {}).get("metrics") or {}).get(key)
    if value is None:
        return Decimal(0)
    if isinstance(value, bool):
        unreadable.append(name)
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        unreadable.append(name)
        return Decimal(0)


def _raw(snapshot: dict[str, Any], name: str) -> Any:
    state, _, key = name.partition(".")
    return (((snapshot.get("states") or {}).get(state) or {}).get("metrics") or {}).get(key)


def churn_likelihood(snapshot: dict[str, Any]) -> Decimal:
    """The model's probability when one is loaded, else the rule score / 100 (a proxy)."""
    probability = snapshot.get("churn_probability")
    if probability is not None:
        raw = Decimal(str(probability))
    else:
        raw = Decimal(str(snapshot.get("churn_score") or 0)) / 100
    return min(max(raw, Decimal(0)), Decimal(1)).quantize(LIKELIHOOD_PLACES, ROUND_HALF_UP)


_STAGES = {
    Lifecycle.NEW: "New",
    Lifecycle.GROWTH: "Growing",
    Lifecycle.MATURE: "Mature",
    Lifecycle.DECLINING: "Declining",
    Lifecycle.DORMANT: "Dormant",
}


def _change_words(change: Decimal, *, of_value: bool) -> str:
    if of_value:
        return (
            f"value is {'up' if change >= 0 else 'down'} {abs(change):.1%} on the previous period"
        )
    side = "above" if change >= 0 else "below"
    return f"financial assets are {abs(change):.1%} {side} their usual level"


def _lifecycle(
    *,
    config: ValueConfig,
    current: Decimal,
    previous: PreviousReview | None,
    snapshot: dict[str, Any],
    likelihood: Decimal,
    unreadable: list[str],
) -> tuple[Lifecycle, dict[str, str]]:
    rules = config.lifecycle
    idle = _raw(snapshot, "stability.days_since_activity")
    if isinstance(idle, int | float) and idle >= rules.dormant_days:
        return Lifecycle.DORMANT, {
            "code": "dormant",
            "text": f"Dormant: no activity of the customer's own for {int(idle):,} days "
            f"(dormant from {rules.dormant_days:,} days).",
        }
    tenure = _raw(snapshot, "stability.tenure_days")
    if isinstance(tenure, int | float) and tenure < rules.new_tenure_days:
        return Lifecycle.NEW, {
            "code": "new",
            "text": f"New customer: with the bank for {int(tenure):,} days "
            f"(new for the first {rules.new_tenure_days:,} days).",
        }
    change: Decimal | None = None
    of_value = False
    if previous is not None and previous.current_value != 0:
        change = (current - previous.current_value) / abs(previous.current_value)
        of_value = True
    else:
        baseline = _metric(snapshot, "scale.assets_baseline", unreadable)
        if baseline > 0:
            assets = _metric(snapshot, "scale.financial_assets", unreadable)
            change = (assets - baseline) / baseline
    moved = _change_words(change, of_value=of_value) if change is not None else None
    if (change is not None and change <= -rules.decline_ratio) or (
        likelihood >= rules.declining_churn
    ):
        leaving = f"{likelihood:.0%} likely to leave"
        return Lifecycle.DECLINING, {
            "code": "declining",
            "text": f"Declining: {moved}; {leaving}." if moved else f"Declining: {leaving}.",
        }
    if change is not None and change >= rules.growth_ratio:
        return Lifecycle.GROWTH, {"code": "growth", "text": f"Growing: {moved}."}
    steady = f"steady, {moved}" if moved else "no earlier value or usual level to compare with"
    return Lifecycle.MATURE, {"code": "mature", "text": f"Mature: {steady}."}


def _strategy(
    *,
    config: ValueConfig,
    current: Decimal,
    potential: Decimal,
    at_risk: Decimal,
    lifecycle: Lifecycle,
    snapshot: dict[str, Any],
    months: int,
) -> tuple[Strategy, dict[str, str]]:
    rules = config.strategy
    per = per_period(months)
    worth = f"{money(current, currency=config.currency)} {per}"
    stage = _STAGES[lifecycle]
    classification = _raw(snapshot, "risk.worst_classification")
    if isinstance(classification, str) and classification in rules.exit_classifications:
        return Strategy.EXIT, {
            "code": "credit_risk",
            "text": f"Exit: loans are classified {classification.replace('_', ' ')}; "
            "wind the relationship down.",
        }
    fading = lifecycle in (Lifecycle.DECLINING, Lifecycle.DORMANT)
    if current < 0 and potential <= 0 and fading:
        return Strategy.EXIT, {
            "code": "loss_no_potential",
            "text": f"Exit: loss-making ({worth}), {stage.lower()} and with no potential value.",
        }
    if current < 0:
        cost = money(-current, currency=config.currency)
        return Strategy.REDUCE, {
            "code": "loss_making",
            "text": f"Loss-making: serving the customer costs {cost} {per} more than they "
            "bring; serve them at lower cost.",
        }
    if fading and current < rules.low_value:
        low = money(rules.low_value, currency=config.currency)
        return Strategy.REDUCE, {
            "code": "low_value_fading",
            "text": f"{stage} and worth only {worth} (low value is below {low}): "
            "serve them at lower cost.",
        }
    if lifecycle in (Lifecycle.NEW, Lifecycle.GROWTH):
        nxt = {1: "next month", 3: "next quarter"}.get(months, "next period")
        return Strategy.DEEPEN, {
            "code": "nurture",
            "text": f"{stage} relationship worth {worth}: nurture it; potential "
            f"{money(potential, currency=config.currency)} {nxt}.",
        }
    products = _raw(snapshot, "product_usage.active_products")
    if lifecycle is Lifecycle.MATURE and isinstance(products, int) and products <= 1:
        return Strategy.DEEPEN, {
            "code": "single_product",
            "text": f"Worth {worth} but holds a single product: cross-sell while maintaining "
            "the relationship.",
        }
    if fading:
        return Strategy.MAINTAIN, {
            "code": "retain_value",
            "text": f"{stage} but worth {worth}: retain them "
            f"({money(at_risk, currency=config.currency)} at risk).",
        }
    return Strategy.MAINTAIN, {
        "code": "partnership",
        "text": f"Mature and worth {worth}: keep the service level.",
    }


def review(
    *,
    snapshot: dict[str, Any],
    config: ValueConfig,
    months: int,
    previous: PreviousReview | None,
    tier: str | None = None,
    segment: str | None = None,
) -> ReviewResult:
    """Value a customer for one period of ``months`` months from their snapshot."""
    unreadable: list[str] = []
    margins = config.margins
    share = Decimal(months) / Decimal(12)
    balances = {
        "deposits_demand": (_metric(snapshot, "scale.deposits_demand", unreadable), "demand"),
        "deposits_time": (_metric(snapshot, "scale.deposits_time", unreadable), "time"),
        "loans": (_metric(snapshot, "scale.loans", unreadable), "loans"),
        "investments": (_metric(snapshot, "scale.investments", unreadable), "investments"),
    }
    rates = {
        "demand": margins.deposits.demand,
        "time": margins.deposits.time,
        "loans": margins.loans,
        "investments": margins.investments,
    }
    income = {
        name: cents(max(b, Decimal(0)) * rates[k] * share) for name, (b, k) in balances.items()
    }
    card_spend = _metric(snapshot, "product_usage.card_spend_week_baseline", unreadable)
    income["card_interchange"] = cents(
        card_spend * WEEKS_PER_MONTH * months * config.fees.card_interchange
    )
    for name in config.fees.metrics:
        income[f"fee:{name}"] = cents(_metric(snapshot, name, unreadable))
    tier = tier or snapshot.get("tier")
    segment = segment or snapshot.get("segment")
    cost = cents(config.cost_to_serve.monthly(tier=tier, segment=segment) * months)
    current = sum(income.values(), Decimal(0)) - cost
    likelihood = churn_likelihood(snapshot)
    change = current - previous.current_value if previous is not None else Decimal(0)
    potential = cents((1 - likelihood) * (current + config.potential.trend_weight * change))
    at_risk = cents(likelihood * max(current, Decimal(0)))
    expected = previous.potential_value if previous is not None else None
    lifecycle, why_stage = _lifecycle(
        config=config,
        current=current,
        previous=previous,
        snapshot=snapshot,
        likelihood=likelihood,
        unreadable=unreadable,
    )
    strategy, why = _strategy(
        config=config,
        current=current,
        potential=potential,
        at_risk=at_risk,
        lifecycle=lifecycle,
        snapshot=snapshot,
        months=months,
    )
    inputs: dict[str, Any] = {
        "snapshot_as_of": snapshot.get("as_of"),
        "ruleset_version": snapshot.get("ruleset_version"),
        "model_version": snapshot.get("model_version"),
        "churn_score": snapshot.get("churn_score"),
        "churn_probability": snapshot.get("churn_probability"),
        "tier": tier,
        "segment": segment,
        "balances": {name: str(b) for name, (b, _) in balances.items()},
        "card_spend_week_baseline": str(card_spend),
        "months": months,
        "previous": None
        if previous is None
        else {
            "current_value": str(previous.current_value),
            "potential_value": str(previous.potential_value),
        },
    }
    if unreadable:
        inputs["unreadable_metrics"] = sorted(set(unreadable))
    return ReviewResult(
        current_value=current,
        income=income,
        cost_to_serve=cost,
        expected_value=expected,
        trend=current - expected if expected is not None else None,
        potential_value=potential,
        churn_likelihood=likelihood,
        value_at_risk=at_risk,
        lifecycle=lifecycle,
        strategy=strategy,
        reasons=[why_stage, why],
        inputs=inputs,
    )
