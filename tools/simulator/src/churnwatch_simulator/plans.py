"""Churn patterns and each customer's plan: whether, how and when the relationship drifts away."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum


class Pattern(StrEnum):
    NORMAL = "normal"
    INTERBANK_OUTFLOW = "interbank_outflow"
    PAYROLL_STOP = "payroll_stop"
    PRODUCT_ATTRITION = "product_attrition"
    ACTIVITY_FADE = "activity_fade"
    COMPLAINT_SILENCE = "complaint_silence"
    PRIVATE_BANKING_SLIDE = "private_banking_slide"
    CREDIT_DETERIORATION = "credit_deterioration"
    NOISY_LOYAL = "noisy_loyal"


# Patterns whose customers end the relationship (the labelled churners).
CHURN_PATTERNS: frozenset[Pattern] = frozenset(
    {
        Pattern.INTERBANK_OUTFLOW,
        Pattern.PAYROLL_STOP,
        Pattern.PRODUCT_ATTRITION,
        Pattern.ACTIVITY_FADE,
        Pattern.COMPLAINT_SILENCE,
        Pattern.PRIVATE_BANKING_SLIDE,
    }
)

# Patterns only a retail customer can follow (payroll credits, private-banking thresholds).
RETAIL_ONLY: frozenset[Pattern] = frozenset({Pattern.PAYROLL_STOP, Pattern.PRIVATE_BANKING_SLIDE})

DEFAULT_FRACTIONS: dict[Pattern, float] = {
    Pattern.INTERBANK_OUTFLOW: 0.03,
    Pattern.PAYROLL_STOP: 0.03,
    Pattern.PRODUCT_ATTRITION: 0.03,
    Pattern.ACTIVITY_FADE: 0.03,
    Pattern.COMPLAINT_SILENCE: 0.02,
    Pattern.PRIVATE_BANKING_SLIDE: 0.01,
    Pattern.CREDIT_DETERIORATION: 0.03,
    Pattern.NOISY_LOYAL: 0.10,
}

MIN_DAYS = 14


@dataclass(slots=True)
class Plan:
    """What the simulation will do to one customer; days are indexes from the first simulated day."""

    pattern: Pattern
    drift_start: int | None = None
    churn_day: int | None = None
    marks: dict[str, int] = field(default_factory=dict)

    @property
    def drifts_to_churn(self) -> bool:
        """True when the plan ends the relationship (possibly after the simulated horizon)."""
        return self.pattern in CHURN_PATTERNS


def pattern_counts(*, customers: int, fractions: dict[Pattern, float]) -> dict[Pattern, int]:
    """Exact number of customers per pattern: round(fraction * customers), the rest normal."""
    if sum(fractions.values()) > 1.0 + 1e-9:
        raise ValueError("pattern fractions add up to more than 1")
    counts: dict[Pattern, int] = {
        p: round(f * customers) for p, f in fractions.items() if p is not Pattern.NORMAL
    }
    taken = sum(counts.values())
    if taken > customers:
        raise ValueError("pattern fractions leave no room for the population")
    counts[Pattern.NORMAL] = customers - taken
    return counts


def assign_patterns(
    *, rng: random.Random, customers: int, fractions: dict[Pattern, float]
) -> list[Pattern]:
    """A shuffled list of one pattern per customer with exact per-pattern counts."""
    counts = pattern_counts(customers=customers, fractions=fractions)
    patterns = [p for p in Pattern for _ in range(counts.get(p, 0))]
    rng.shuffle(patterns)
    return patterns


def make_plan(*, rng: random.Random, pattern: Pattern, days: int) -> Plan:
    """Draw the drift start, churn day and pattern marks so the churn falls inside the horizon."""
    if days < MIN_DAYS:
        raise ValueError(f"simulate at least {MIN_DAYS} days (got {days})")
    plan = Plan(pattern=pattern)
    if pattern is Pattern.NORMAL:
        return plan
    if pattern is Pattern.NOISY_LOYAL:
        plan.marks["bonus_day"] = rng.randrange(1, days)
        plan.marks["purchase_day"] = rng.randrange(1, days)
        length = min(rng.randint(10, 21), days // 3)
        start = rng.randrange(1, days - length)
        plan.marks["holiday_start"] = start
        plan.marks["holiday_end"] = start + length
        return plan
    # Drift lasts long enough for an early warning to matter, but must fit in the horizon.
    duration = min(rng.randint(40, 90), max(6, int(days * 0.6)))
    earliest = max(1, int(days * 0.2))
    latest = max(earliest, days - 1 - duration)
    plan.drift_start = rng.randint(earliest, latest)
    if pattern is Pattern.CREDIT_DETERIORATION:
        return plan
    plan.churn_day = min(plan.drift_start + duration, days - 1)
    if pattern is Pattern.INTERBANK_OUTFLOW:
        plan.marks["big_outflow_day"] = max(
            plan.drift_start + 1, plan.churn_day - rng.randint(1, 5)
        )
    return plan
