"""Value reviews in a manager's words: amounts with separators and the currency, named periods.

Pure functions, shared by the review computation (its reasons are archived already worded) and
the reads (the headline figures are worded when shown, so older reviews read the same way).
"""

from __future__ import annotations

import calendar
import re
from decimal import Decimal

from churnwatch_alerts.value.periods import PeriodError, PeriodKind, parse_period
from churnwatch_alerts.value.schemas import AccuracyPeriod, ValueWords

_QUARTER_MONTHS = {
    1: "January to March",
    2: "April to June",
    3: "July to September",
    4: "October to December",
}
LIFECYCLES = {
    "new": "New customer",
    "growth": "Growing",
    "mature": "Mature",
    "declining": "Declining",
    "dormant": "Dormant",
}
STRATEGIES = {
    "deepen": "Deepen the relationship",
    "maintain": "Maintain the relationship",
    "reduce": "Reduce the cost of serving",
    "exit": "Exit the relationship",
}
# An amount as older reviews archived it: "765.53 CNY" (no separator, to the cent).
_BARE_AMOUNT = re.compile(r"(?<![\d,.])(-?\d+(?:\.\d+)?) ([A-Z]{3})\b")


def money(value: Decimal, *, currency: str) -> str:
    """An amount with separators and the currency: whole units from 100 up (``12,300 CNY``),
    cents below unless whole (``35.20 CNY``, ``0 CNY``)."""
    digits = 0 if abs(value) >= 100 or value == value.to_integral_value() else 2
    return f"{value:,.{digits}f} {currency}"


def per_period(months: int) -> str:
    """How a period's amount is said: ``a month``, ``a quarter`` or ``over 6 months``."""
    return {1: "a month", 3: "a quarter"}.get(months, f"over {months} months")


def _kind(label: str) -> PeriodKind:
    return PeriodKind.QUARTERLY if "-Q" in label else PeriodKind.MONTHLY


def period_name(label: str) -> str:
    """``2026-11`` as ``November 2026``, ``2026-Q4`` as ``Q4 2026 (October to December)``;
    a label that is neither stays as it is."""
    try:
        period = parse_period(label, kind=_kind(label))
    except PeriodError:
        return label
    start = period.start
    if period.kind is PeriodKind.MONTHLY:
        return f"{calendar.month_name[start.month]} {start.year}"
    quarter = (start.month - 1) // 3 + 1
    return f"Q{quarter} {start.year} ({_QUARTER_MONTHS[quarter]})"


def next_period_name(label: str) -> str:
    """The name of the period after ``label`` (what a potential value predicts)."""
    try:
        return period_name(parse_period(label, kind=_kind(label)).next().label)
    except PeriodError:
        return f"the period after {label}"


def _short(label: str) -> str:
    return period_name(label).split(" (")[0]


def reason_text(text: str, *, currency: str) -> str:
    """An archived reason as shown: amounts older reviews wrote bare ("765.53 CNY") get
    separators, the first letter a capital and the sentence a full stop."""
    worded = _BARE_AMOUNT.sub(lambda m: money(Decimal(m.group(1)), currency=m.group(2)), text)
    worded = worded[:1].upper() + worded[1:]
    return worded if worded.endswith(".") else worded + "."


def review_words(
    *,
    period: str,
    currency: str,
    current_value: Decimal,
    income: dict[str, Decimal],
    cost_to_serve: Decimal,
    expected_value: Decimal | None,
    trend: Decimal | None,
    potential_value: Decimal,
    churn_likelihood: Decimal,
    value_at_risk: Decimal,
    lifecycle: str,
    strategy: str,
) -> ValueWords:
    """Every figure of one review worded: the period named, amounts with the currency."""
    name = _short(period)
    earned = sum(income.values(), Decimal(0))
    current = f"{money(current_value, currency=currency)} in {name}"
    if income or cost_to_serve:
        current += (
            f" (income {money(earned, currency=currency)} less "
            f"{money(cost_to_serve, currency=currency)} cost to serve)"
        )
    if trend is None or expected_value is None:
        moved = "First review: nothing was expected yet"
    elif trend == 0:
        moved = f"Exactly the {money(expected_value, currency=currency)} expected for {name}"
    else:
        side = "above" if trend > 0 else "below"
        moved = (
            f"{money(abs(trend), currency=currency)} {side} the "
            f"{money(expected_value, currency=currency)} expected for {name}"
        )
    return ValueWords(
        period=period_name(period),
        current_value=current,
        trend=moved,
        potential_value=f"{money(potential_value, currency=currency)} expected in "
        f"{next_period_name(period)}",
        value_at_risk=f"{money(value_at_risk, currency=currency)} "
        f"({churn_likelihood:.0%} likely to leave)",
        lifecycle=LIFECYCLES.get(lifecycle, lifecycle.replace("_", " ").capitalize()),
        strategy=STRATEGIES.get(strategy, strategy.replace("_", " ").capitalize()),
    )


def accuracy_text(row: AccuracyPeriod, *, currency: str) -> str:
    """One accuracy period as a sentence: whose predictions, how far off, in which direction."""
    period, actual, customers = row.period, row.actual_period, row.customers
    mae, bias, within = row.mae, row.bias, row.within_20pct_share
    head = f"{_short(period)}'s predictions for {_short(actual)}"
    if not customers or mae is None:
        return f"{head}: no customer reviewed in both periods."
    noun = "customer" if customers == 1 else "customers"
    text = (
        f"{head}, {customers:,} {noun}: off by {money(mae, currency=currency)} a customer "
        "on average"
    )
    if bias:
        side = "too high" if bias > 0 else "too low"
        text += f", {money(abs(bias), currency=currency)} {side} overall"
    if within is not None:
        text += f"; {within:.0%} within 20% of the actual value"
    return text + "."
