"""Value computation on hand-made snapshots with known margins: exact Decimal results, rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from churnwatch_alerts.value.compute import Lifecycle, PreviousReview, Strategy, review
from churnwatch_alerts.value.config import ValueConfigError, load_value_config, parse_value_config
from churnwatch_alerts.value.periods import (
    PeriodError,
    PeriodKind,
    last_closed_period,
    parse_period,
)
from tests.alerts.value_builders import TEST_CONFIG, known_margins, make_snapshot

D = Decimal


def test_current_value_from_known_margins_is_exact() -> None:
    result = review(snapshot=make_snapshot("C1"), config=known_margins(), months=1, previous=None)
    # 100000 x 1.2 % / 12, 50000 x 0.6 % / 12, 200000 x 2.4 % / 12, 60000 x 1.2 % / 12,
    # card 1200 a week x 52 / 12 x 0.3 %
    assert result.income == {
        "deposits_demand": D("100.00"),
        "deposits_time": D("25.00"),
        "loans": D("400.00"),
        "investments": D("60.00"),
        "card_interchange": D("15.60"),
    }
    assert result.cost_to_serve == D("30.00")  # gold
    assert result.current_value == D("570.60")
    assert result.churn_likelihood == D("0.4000")  # churn score 40 / 100: no model loaded
    assert result.value_at_risk == D("228.24")
    assert result.potential_value == D("342.36")  # (1 - 0.4) x 570.60
    assert result.expected_value is None and result.trend is None


def test_quarter_triples_income_and_cost() -> None:
    result = review(snapshot=make_snapshot("C1"), config=known_margins(), months=3, previous=None)
    assert result.current_value == D("1711.80")
    assert result.cost_to_serve == D("90.00")


def test_trend_against_expected_and_potential_from_the_change() -> None:
    previous = PreviousReview(current_value=D("500.00"), potential_value=D("450.00"))
    result = review(
        snapshot=make_snapshot("C1"), config=known_margins(), months=1, previous=previous
    )
    assert result.expected_value == D("450.00")
    assert result.trend == D("120.60")
    # (1 - 0.4) x (570.60 + 0.5 x 70.60)
    assert result.potential_value == D("363.54")
    assert result.lifecycle is Lifecycle.GROWTH  # +14 % against the previous period
    assert result.strategy is Strategy.DEEPEN


def test_model_probability_wins_over_the_score_and_rounding_is_half_up() -> None:
    snapshot = make_snapshot(
        "C1",
        demand="12345.67",
        time="0",
        loans="0",
        investments="0",
        card_week="0",
        churn_probability=0.123456,
        tier=None,
        segment="corporate",
    )
    result = review(snapshot=snapshot, config=known_margins(), months=1, previous=None)
    assert result.income["deposits_demand"] == D("12.35")  # 12.34567
    assert result.cost_to_serve == D("200.00")  # the segment wins over the default
    assert result.current_value == D("-187.65")
    assert result.churn_likelihood == D("0.1235")
    assert result.value_at_risk == D("0.00")  # a loss-making customer puts no value at risk


@pytest.mark.parametrize(
    ("changes", "previous", "stage"),
    [
        ({"days_since_activity": 75}, None, Lifecycle.DORMANT),
        ({"tenure_days": 30}, None, Lifecycle.NEW),
        ({}, PreviousReview(D("700.00"), D("0")), Lifecycle.DECLINING),  # -18.5 %
        ({"churn_score": 55.0}, PreviousReview(D("570.00"), D("0")), Lifecycle.DECLINING),
        ({}, PreviousReview(D("560.00"), D("0")), Lifecycle.MATURE),  # +1.9 %
        ({}, PreviousReview(D("540.00"), D("0")), Lifecycle.GROWTH),  # +5.7 %
        ({"assets_baseline": "150000"}, None, Lifecycle.GROWTH),  # assets 210000 vs 150000
        ({"assets_baseline": "300000"}, None, Lifecycle.DECLINING),  # assets 30 % below usual
        ({"assets_baseline": "205000"}, None, Lifecycle.MATURE),
    ],
)
def test_lifecycle_rules(
    changes: dict[str, object], previous: PreviousReview | None, stage: Lifecycle
) -> None:
    snapshot = make_snapshot("C1", **changes)  # type: ignore[arg-type]
    result = review(snapshot=snapshot, config=known_margins(), months=1, previous=previous)
    assert result.lifecycle is stage, result.reasons


@pytest.mark.parametrize(
    ("changes", "previous", "strategy", "code"),
    [
        ({"classification": "doubtful"}, None, Strategy.EXIT, "credit_risk"),
        (  # loss-making, dormant, and a churn likelihood of 1: no potential
            {
                "demand": "0",
                "time": "0",
                "loans": "0",
                "investments": "0",
                "card_week": "0",
                "days_since_activity": 90,
                "churn_score": 100.0,
            },
            None,
            Strategy.EXIT,
            "loss_no_potential",
        ),
        (
            {"demand": "0", "time": "0", "loans": "0", "investments": "0", "card_week": "0"},
            None,
            Strategy.REDUCE,
            "loss_making",
        ),
        (
            {
                "demand": "20000",
                "time": "0",
                "loans": "0",
                "investments": "0",
                "card_week": "0",
                "tier": None,
                "days_since_activity": 80,
            },
            None,
            Strategy.REDUCE,
            "low_value_fading",
        ),
        ({"tenure_days": 20}, None, Strategy.DEEPEN, "nurture"),
        (
            {"active_products": 1},
            PreviousReview(D("570.00"), D("0")),
            Strategy.DEEPEN,
            "single_product",
        ),
        ({"churn_score": 70.0}, None, Strategy.MAINTAIN, "retain_value"),
        ({}, PreviousReview(D("570.00"), D("0")), Strategy.MAINTAIN, "partnership"),
    ],
)
def test_strategy_rules(
    changes: dict[str, object], previous: PreviousReview | None, strategy: Strategy, code: str
) -> None:
    snapshot = make_snapshot("C1", **changes)  # type: ignore[arg-type]
    result = review(snapshot=snapshot, config=known_margins(), months=1, previous=previous)
    assert (result.strategy, result.reasons[-1]["code"]) == (strategy, code), result.reasons


def test_inputs_are_recorded_with_the_review() -> None:
    result = review(snapshot=make_snapshot("C1"), config=known_margins(), months=1, previous=None)
    assert result.inputs["balances"]["loans"] == "200000.00"
    assert result.inputs["snapshot_as_of"] == "2026-11-28T10:00:00+00:00"
    assert result.inputs["churn_score"] == 40.0


def test_bad_configuration_names_the_field(tmp_path: Path) -> None:
    bad = TEST_CONFIG.replace('loans: "0.0240"', 'loans: "2.5"')
    with pytest.raises(ValueConfigError, match=r"margins\.loans"):
        parse_value_config(bad)
    with pytest.raises(ValueConfigError, match="cannot read"):
        load_value_config(tmp_path / "missing.yaml")
    assert load_value_config().currency == "CNY"  # the packaged file is valid


def test_periods() -> None:
    november = parse_period("2026-11", kind=PeriodKind.MONTHLY)
    assert (november.start, november.end) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert november.next().label == "2026-12" and november.previous().label == "2026-10"
    assert parse_period("2026-12", kind=PeriodKind.MONTHLY).next().label == "2027-01"
    q4 = parse_period("2026-Q4", kind=PeriodKind.QUARTERLY)
    assert (q4.start, q4.next().label) == (datetime(2026, 10, 1, tzinfo=UTC), "2027-Q1")
    now = datetime(2026, 12, 5, 8, tzinfo=UTC)
    assert last_closed_period(now, kind=PeriodKind.MONTHLY).label == "2026-11"
    assert last_closed_period(now, kind=PeriodKind.QUARTERLY).label == "2026-Q3"
    for label, kind in (("2026-13", PeriodKind.MONTHLY), ("2026-11", PeriodKind.QUARTERLY)):
        with pytest.raises(PeriodError, match="expected"):
            parse_period(label, kind=kind)
