"""Hand-made customer-state snapshots and a value configuration with known margins (tests)."""

from __future__ import annotations

from typing import Any

from churnwatch_alerts.value.config import ValueConfig, parse_value_config

TEST_CONFIG = """
version: "test-margins-1"
currency: CNY
margins:
  deposits: {demand: "0.0120", time: "0.0060"}
  loans: "0.0240"
  investments: "0.0120"
fees: {card_interchange: "0.0030", metrics: []}
cost_to_serve: {default: "10.00", tiers: {gold: "30.00"}, segments: {corporate: "200.00"}}
potential: {trend_weight: "0.5"}
lifecycle:
  dormant_days: 60
  new_tenure_days: 180
  growth_ratio: "0.05"
  decline_ratio: "0.10"
  declining_churn: "0.50"
strategy: {low_value: "50.00", exit_classifications: [doubtful, loss]}
"""


def known_margins() -> ValueConfig:
    """The value configuration the tests' expected figures are computed from."""
    return parse_value_config(TEST_CONFIG, source="tests")


def make_snapshot(
    customer_id: str,
    *,
    demand: str = "100000.00",
    time: str = "50000.00",
    loans: str = "200000.00",
    investments: str = "60000.00",
    card_week: str = "1200.00",
    churn_score: float = 40.0,
    churn_probability: float | None = None,
    churn_level: str = "watch",
    tier: str | None = "gold",
    segment: str | None = "retail",
    tenure_days: int | None = 900,
    days_since_activity: int | None = 3,
    assets_baseline: str | None = None,
    classification: str = "normal",
    active_products: int = 3,
    open_complaints: int = 0,
    outflow_30d: str = "5000.00",
    as_of: str = "2026-11-28T10:00:00+00:00",
) -> dict[str, Any]:
    """A snapshot in the wire shape of ``CustomerStateSnapshot``."""
    assets = str(
        sum(float(x) for x in (demand, time, investments))
    )  # only read for the lifecycle's assets-against-baseline fallback
    return {
        "customer_id": customer_id,
        "as_of": as_of,
        "churn_score": churn_score,
        "churn_level": churn_level,
        "churn_probability": churn_probability,
        "ruleset_version": "test-rules",
        "tier": tier,
        "segment": segment,
        "branch_id": "BR001",
        "events_applied": 10,
        "states": {
            "scale": {
                "level": "normal",
                "score": 0,
                "metrics": {
                    "deposits_demand": demand,
                    "deposits_time": time,
                    "loans": loans,
                    "investments": investments,
                    "financial_assets": assets,
                    "assets_baseline": assets_baseline,
                    "tier": tier,
                },
            },
            "stability": {
                "level": "normal",
                "score": 0,
                "metrics": {
                    "days_since_activity": days_since_activity,
                    "tenure_days": tenure_days,
                    "open_complaints": open_complaints,
                },
            },
            "risk": {
                "level": "normal",
                "score": 0,
                "metrics": {"worst_classification": classification},
            },
            "account_flow": {
                "level": "normal",
                "score": 0,
                "metrics": {"outflow_30d": outflow_30d},
            },
            "product_usage": {
                "level": "normal",
                "score": 0,
                "metrics": {
                    "active_products": active_products,
                    "card_spend_week_baseline": card_week,
                },
            },
        },
    }
