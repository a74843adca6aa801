"""Engagement features over the engine's 30-day periods: the customer's transactions against
their own history, inactive months, recency against their own cadence, contacts.

The engine keeps customer-initiated transactions and amounts per 30-day period for the newest
thirteen periods (``CustomerState.mtx``/``mamt``, newest period ``mon``, first activity
``mfirst``). Every feature is judged at the as-of time T: periods after the newest stored one are
empty (nothing happened in them), the open period at T counts by the share of it elapsed. Nothing
after T is read: the state is sampled before the first event after T.

A quiet leaver's own activity fades over weeks to months before they leave while salary and
bills keep arriving; the six weeks of activity buckets and the weekly EWMA follow such a fade, so
these compare the newest months with months three to twelve back instead.
"""

from __future__ import annotations

import math
from typing import Final

from churnwatch_state_monitor.engine.buckets import DAY, NINETY_DAYS
from churnwatch_state_monitor.engine.state import MONTH, MONTHS, CustomerState
from churnwatch_state_monitor.model.features import Feature, FeatureFn, register

NAN: Final = math.nan
_BASE_FROM: Final = 3  # own baseline: complete periods 3..12 back (the recent three excluded)
_MIN_BASE: Final = 2  # periods of baseline needed before it counts


class Periods:
    """One customer's periods at one as-of time (age 0 = the open period at T)."""

    __slots__ = ("amounts", "complete", "counts", "elapsed", "observed")

    def __init__(self, st: CustomerState, as_of: int) -> None:
        period = as_of // MONTH
        self.elapsed = (as_of % MONTH) / MONTH
        self.counts = [0] * MONTHS
        self.amounts = [0] * MONTHS
        mtx = st.mtx
        # periods since the first activity's (-1: no activity yet); the first activity's own
        # period holds only what came after it (and after the history began), so it is never a
        # complete month: ``complete`` is the oldest age that is (ages 1..complete)
        self.observed = period - st.mfirst if mtx else -1
        self.complete = self.observed - 1
        lag = period - st.mon
        kept = len(mtx)
        for age in range(MONTHS):
            i = kept - 1 - age + lag
            if 0 <= i < kept:
                self.counts[age] = mtx[i]
                self.amounts[age] = st.mamt[i]

    def usual(self, values: list[int]) -> float:
        """Mean per period over the complete periods 3..12 back that were observed; NaN when
        fewer than two were."""
        top = min(MONTHS - 1, self.complete)
        n = top - _BASE_FROM + 1
        if n < _MIN_BASE:
            return NAN
        return sum(values[_BASE_FROM : top + 1]) / n

    def rate(self, values: list[int], periods: int) -> float:
        """Per period over the open period and the complete ``periods - 1`` before it (the open
        one by the share elapsed); NaN before any activity."""
        if self.observed < 0:
            return NAN
        back = max(0, min(periods - 1, self.complete))
        span = back + self.elapsed
        if span <= 0.1:
            return NAN
        return sum(values[: back + 1]) / span


# the newest (state, as_of, events, mon) and its periods: the state itself is held, not its id,
# because a state dropped after scoring frees its address for the next customer's state
_CACHE: list[tuple[CustomerState, tuple[int, int, int], Periods]] = []


def periods(st: CustomerState, as_of: int) -> Periods:
    """The customer's periods at ``as_of`` (computed once per state and time: features share)."""
    key = (as_of, st.events, st.mon)
    if _CACHE and _CACHE[0][0] is st and _CACHE[0][1] == key:
        return _CACHE[0][2]
    value = Periods(st, as_of)
    _CACHE[:] = [(st, key, value)]
    return value


def _ratio(num: float, den: float) -> float:
    return NAN if math.isnan(num) or math.isnan(den) or den <= 0 else num / den


def _rate_3m(st: CustomerState, t: int) -> float:
    p = periods(st, t)
    return p.rate(p.counts, 3)


def _rate_1m(st: CustomerState, t: int) -> float:
    p = periods(st, t)
    return p.rate(p.counts, 2)


def _usual(st: CustomerState, t: int) -> float:
    p = periods(st, t)
    return p.usual(p.counts)


def _last_month(st: CustomerState, t: int) -> float:
    p = periods(st, t)
    return float(p.counts[1]) if p.complete >= 1 else NAN


def _amount_3m(st: CustomerState, t: int) -> float:
    p = periods(st, t)
    return p.rate(p.amounts, 3)


def _amount_usual(st: CustomerState, t: int) -> float:
    p = periods(st, t)
    return p.usual(p.amounts)


def _inactive(st: CustomerState, t: int) -> float:
    return inactive_of(periods(st, t))


def inactive_of(p: Periods) -> float:
    """Months without own activity among the complete periods 1..12 back."""
    if p.complete < 1:
        return NAN
    return float(sum(1 for age in range(1, min(12, p.complete) + 1) if p.counts[age] == 0))


def _deficit(st: CustomerState, t: int) -> float:
    """Signed Poisson deviance of the newest two periods' count against the own usual rate:
    negative = fewer than usual, judged against how many were expected (two missing of forty is
    noise, two of three is not)."""
    return deficit_of(periods(st, t))


def deficit_of(p: Periods) -> float:
    """``_deficit`` of one customer's periods."""
    usual = p.usual(p.counts)
    if math.isnan(usual):
        return NAN
    last = p.complete >= 1  # the period before the open one, when complete
    expected = usual * (int(last) + p.elapsed)
    seen = float(p.counts[0] + (p.counts[1] if last else 0))
    if expected <= 0:
        return 0.0
    return _signed_deviance(seen, expected)


def _signed_deviance(seen: float, expected: float) -> float:
    term = seen * math.log(seen / expected) if seen > 0 else 0.0
    dev = math.sqrt(max(0.0, 2.0 * (term - (seen - expected))))
    return -dev if seen < expected else dev


def _change(st: CustomerState, t: int) -> float:
    """The strongest shortfall over where a decline may have begun: for a start 1..4 periods
    back, the signed deviance of the count since then against the customer's own rate before
    it (complete periods up to 12 back, two at least); the most negative. A slow fade that has
    already reached months three and more back no longer hides in the own baseline, and a
    young history still has one."""
    return change_of(periods(st, t))


def change_of(p: Periods) -> float:
    """``_change`` of one customer's periods."""
    best = NAN
    for k in range(1, 5):
        top = min(MONTHS - 1, p.complete)
        if top - k + 1 < _MIN_BASE:
            break
        usual = sum(p.counts[k : top + 1]) / (top - k + 1)
        if usual <= 0:
            continue
        dev = _signed_deviance(float(sum(p.counts[:k])), usual * (k - 1 + p.elapsed))
        if math.isnan(best) or dev < best:
            best = dev
    return best


def _missed(st: CustomerState, t: int) -> float:
    """Transactions the customer's own usual cadence expected since their last own one."""
    return missed_of(_usual(st, t), st.last_act, t)


def missed_of(usual: float, last_act: int | None, t: int) -> float:
    """``_missed`` from the own usual rate and the last own activity."""
    if math.isnan(usual) or not last_act:
        return NAN
    return usual / 30.0 * max(0.0, (t - last_act) / DAY)


def _trend(st: CustomerState, t: int) -> float:
    """Least-squares slope of the complete periods 1..6 back, per period, against their mean
    (-0.2: a fifth of the usual fewer each month)."""
    return trend_of(periods(st, t))


def trend_of(p: Periods) -> float:
    """``_trend`` of one customer's periods."""
    n = min(6, p.complete)
    if n < 3:
        return NAN
    ys = [p.counts[age] for age in range(n, 0, -1)]  # oldest first
    mean = sum(ys) / n
    if mean <= 0:
        return NAN
    xm = (n - 1) / 2
    slope = sum((x - xm) * (y - mean) for x, y in enumerate(ys)) / sum(
        (x - xm) ** 2 for x in range(n)
    )
    return slope / mean


def _contacts(st: CustomerState, t: int) -> float:
    return float(sum(1 for s in st.contacts if t - NINETY_DAYS <= s <= t))


def ratio(num: float, den: float) -> float:
    """``num / den``; NaN when either is NaN or the denominator is not positive."""
    return _ratio(num, den)


def _add(
    name: str, label: str, unit: str, fn: FeatureFn, baseline: FeatureFn | None = None
) -> None:
    register(
        Feature(name=name, state="engagement", label=label, unit=unit, fn=fn, baseline=baseline)
    )


_add(
    "txns_month_3m",
    "customer transactions a month, last 3 months",
    "a month",
    _rate_3m,
    _usual,
)
_add(
    "txns_month_recent",
    "customer transactions a month, last 1-2 months",
    "a month",
    _rate_1m,
    _usual,
)
_add("txns_last_month", "customer transactions last month", "", _last_month, _usual)
_add("txns_month_usual", "usual customer transactions a month (3-12 months back)", "", _usual)
_add(
    "txns_3m_vs_own",
    "transactions in the last 3 months against the customer's own past months",
    "x",
    lambda s, t: _ratio(_rate_3m(s, t), _usual(s, t)),
)
_add(
    "txns_recent_vs_own",
    "transactions in the last 1-2 months against the customer's own past months",
    "x",
    lambda s, t: _ratio(_rate_1m(s, t), _usual(s, t)),
)
_add(
    "amount_month_3m",
    "money moved by the customer a month, last 3 months",
    "CNY",
    _amount_3m,
    _amount_usual,
)
_add(
    "amount_3m_vs_own",
    "money moved in the last 3 months against the customer's own past months",
    "x",
    lambda s, t: _ratio(_amount_3m(s, t), _amount_usual(s, t)),
)
_add("inactive_months_12", "months without own activity, last 12", "", _inactive)
_add(
    "txns_deficit",
    "shortfall of transactions against the customer's own rate (deviance)",
    "",
    _deficit,
)
_add(
    "txns_change_deviance",
    "shortfall of transactions since a decline began, against the customer's rate before it",
    "",
    _change,
)
_add("missed_txns", "transactions usually made since the last one", "", _missed)
_add("txns_trend_6m", "monthly trend of transactions, last 6 months", "x", _trend)
_add("contacts_90d", "customer-initiated contacts in 90 days", "", _contacts)
