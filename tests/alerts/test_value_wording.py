"""Value analysis in a manager's words (issue 17 item 5): every figure a manager reads carries
thousands separators, the currency and a named period, never a bare decimal or a period code."""

from __future__ import annotations

import re
from decimal import Decimal

from churnwatch_alerts.value.compute import PreviousReview, review
from churnwatch_alerts.value.schemas import AccuracyPeriod
from churnwatch_alerts.value.wording import accuracy_text, period_name, reason_text, review_words
from tests.alerts.value_builders import known_margins, make_snapshot

D = Decimal
# A machine amount: no separator ("1711 CNY", "12345"), or cents on 100 or more ("765.53 CNY").
BARE = re.compile(r"(?<![\d,])(?:\d{4,}(?:\.\d+)? [A-Z]{3}|\d{5,}|\d{3,}\.\d+ [A-Z]{3})")


def test_reasons_have_separators_currency_and_period() -> None:
    snapshot = make_snapshot("C1", demand="4000000", tenure_days=30)
    result = review(snapshot=snapshot, config=known_margins(), months=1, previous=None)
    nurture = result.reasons[-1]["text"]
    assert result.reasons[-1]["code"] == "nurture"
    assert "CNY" in nurture and "a month" in nurture and "," in nurture, nurture
    assert not BARE.search(nurture), nurture
    loss = review(
        snapshot=make_snapshot(
            "C1", demand="0", time="0", loans="0", investments="0", card_week="0"
        ),
        config=known_margins(),
        months=3,
        previous=None,
    )
    assert loss.reasons[-1]["text"] == (
        "Loss-making: serving the customer costs 90 CNY a quarter more than they bring; "
        "serve them at lower cost."
    )
    for text in (r["text"] for r in result.reasons + loss.reasons):
        assert "_" not in text and text[:1].isupper() and text.endswith("."), text


def test_every_figure_of_a_review_is_worded() -> None:
    previous = PreviousReview(current_value=D("1300.00"), potential_value=D("1450.00"))
    result = review(
        snapshot=make_snapshot("C1", demand="1000000"),
        config=known_margins(),
        months=1,
        previous=previous,
    )
    words = review_words(
        period="2026-11",
        currency="CNY",
        current_value=result.current_value,
        income=result.income,
        cost_to_serve=result.cost_to_serve,
        expected_value=result.expected_value,
        trend=result.trend,
        potential_value=result.potential_value,
        churn_likelihood=result.churn_likelihood,
        value_at_risk=result.value_at_risk,
        lifecycle=result.lifecycle.value,
        strategy=result.strategy.value,
    )
    assert words.period == "November 2026"
    assert words.current_value.startswith(f"{result.current_value:,.0f} CNY in November 2026")
    assert words.trend == ("20.60 CNY above the 1,450 CNY expected for November 2026")
    assert words.potential_value == f"{result.potential_value:,.0f} CNY expected in December 2026"
    assert words.value_at_risk == f"{result.value_at_risk:,.0f} CNY (40% likely to leave)"
    assert words.lifecycle == "Growing"
    assert words.strategy == "Deepen the relationship"
    for text in words.model_dump().values():
        assert not BARE.search(text), text
    first = review_words(
        period="2026-Q4",
        currency="EUR",
        current_value=D("-12.5"),
        income={},
        cost_to_serve=D("12.5"),
        expected_value=None,
        trend=None,
        potential_value=D("0"),
        churn_likelihood=D("0.9"),
        value_at_risk=D("0"),
        lifecycle="dormant",
        strategy="exit",
    )
    assert first.period == "Q4 2026 (October to December)"
    assert first.trend == "First review: nothing was expected yet"
    assert first.potential_value == "0 EUR expected in Q1 2027 (January to March)"
    assert first.current_value.startswith("-12.50 EUR in Q4 2026")


def test_accuracy_per_period_is_a_sentence() -> None:
    row = AccuracyPeriod(
        period="2026-10",
        actual_period="2026-11",
        customers=1234,
        mae=D("35.20"),
        bias=D("-1210.40"),
        within_20pct_share=0.6412,
    )
    assert accuracy_text(row, currency="CNY") == (
        "October 2026's predictions for November 2026, 1,234 customers: off by 35.20 CNY a "
        "customer on average, 1,210 CNY too low overall; 64% within 20% of the actual value."
    )
    empty = AccuracyPeriod(
        period="2026-10",
        actual_period="2026-11",
        customers=0,
        mae=None,
        bias=None,
        within_20pct_share=None,
    )
    assert accuracy_text(empty, currency="CNY") == (
        "October 2026's predictions for November 2026: no customer reviewed in both periods."
    )
    assert period_name("2026-01") == "January 2026"


def test_reasons_archived_before_read_with_separators() -> None:
    old = "growth relationship: nurture it, potential 12765.53 CNY"
    assert reason_text(old, currency="CNY") == (
        "Growth relationship: nurture it, potential 12,766 CNY."
    )
    assert reason_text("loss-making (-87.5 CNY)", currency="CNY") == "Loss-making (-87.50 CNY)."
    worded = "Growing relationship worth 1,185 CNY a month: nurture it."
    assert reason_text(worded, currency="CNY") == worded  # already worded: unchanged
