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
            "text": f"no customer activity for {int(idle)} days (dormant from "
            f"{rules.dormant_days})",
        }
    tenure = _raw(snapshot, "stability.tenure_days")
    if isinstance(tenure, int | float) and tenure < rules.new_tenure_days:
        return Lifecycle.NEW, {
            "code": "new",
            "text": f"customer for {int(tenure)} days (new below {rules.new_tenure_days})",
        }
    change: Decimal | None = None
    basis = ""
    if previous is not None and previous.current_value != 0:
        change = (current - previous.current_value) / abs(previous.current_value)
        basis = "value against the previous period"
    else:
        baseline = _metric(snapshot, "scale.assets_baseline", unreadable)
        if baseline > 0:
            assets = _metric(snapshot, "scale.financial_assets", unreadable)
            change = (assets - baseline) / baseline
            basis = "financial assets against their usual level"
    shown = f"{change:+.1%}" if change is not None else "unknown"
    if (change is not None and change <= -rules.decline_ratio) or (
        likelihood >= rules.declining_churn
    ):
        return Lifecycle.DECLINING, {
            "code": "declining",
            "text": f"{basis or 'trend'} {shown}; churn likelihood {likelihood:.0%}",
        }
    if change is not None and change >= rules.growth_ratio:
        return Lifecycle.GROWTH, {"code": "growth", "text": f"{basis} {shown}"}
    return Lifecycle.MATURE, {"code": "mature", "text": f"steady: {basis or 'trend'} {shown}"}


def _strategy(
    *,
    config: ValueConfig,
    current: Decimal,
    potential: Decimal,
    at_risk: Decimal,
    lifecycle: Lifecycle,
    snapshot: dict[str, Any],
) -> tuple[Strategy, dict[str, str]]:
    rules = config.strategy
    money = config.currency
    classification = _raw(snapshot, "risk.worst_classification")
    if isinstance(classification, str) and classification in rules.exit_classifications:
        return Strategy.EXIT, {
            "code": "credit_risk",
            "text": f"loans classified {classification}: wind the relationship down",
        }
    fading = lifecycle in (Lifecycle.DECLINING, Lifecycle.DORMANT)
    if current < 0 and potential <= 0 and fading:
        return Strategy.EXIT, {
            "code": "loss_no_potential",
            "text": f"loss-making ({current} {money}) and {lifecycle.value} with no potential",
        }
    if current < 0:
        return Strategy.REDUCE, {
            "code": "loss_making",
            "text": f"costs {-current} {money} more than it brings: serve at lower cost",
        }
    if fading and current < rules.low_value:
        return Strategy.REDUCE, {
            "code": "low_value_fading",
            "text": f"{lifecycle.value} and worth {current} {money} (below {rules.low_value})",
        }
    if lifecycle in (Lifecycle.NEW, Lifecycle.GROWTH):
        return Strategy.DEEPEN, {
            "code": "nurture",
            "text": f"{lifecycle.value} relationship: nurture it, potential {potential} {money}",
        }
    products = _raw(snapshot, "product_usage.active_products")
    if lifecycle is Lifecycle.MATURE and isinstance(products, int) and products <= 1:
        return Strategy.DEEPEN, {
            "code": "single_product",
            "text": "valuable but single-product: cross-sell while maintaining",
        }
    if fading:
        return Strategy.MAINTAIN, {
            "code": "retain_value",
            "text": f"{lifecycle.value} but worth {current} {money}: retain "
            f"({at_risk} {money} at risk)",
        }
    return Strategy.MAINTAIN, {
        "code": "partnership",
        "text": f"mature and worth {current} {money}: keep the service level",
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
