"""Engagement against the customer's own history and against peers, and the calibrated churn scale.

Measures (from the 30-day periods of ``CustomerState.mtx``/``mamt``, judged at the state's clock
``max(newest, scored)``, so silence counts):

- **rate**: customer-initiated transactions per period over the newest three (the open one
  counted by the share of it elapsed), and the amount likewise;
- **own baseline**: the mean of the complete periods three to twelve back (as far as observed);
  the fall of the count is judged as a binomial deviance against the customer's own history,
  with separate weights for the newest period or quarter (**own**: the stronger; a one-month
  dip, which a holiday also makes) and the two newest periods (**sustained**: a fall that
  lasts, a fade), so one quiet month of a customer who transacts twice a month is weak
  evidence and two are stronger;
- **peer baseline**: the cohort's median transactions per period, from the rule set's versioned
  cohort table (segment x tier, produced offline: ``python -m churnwatch_state_monitor.cohorts``);
- **inactive periods** among the last twelve complete ones, **recency** against the customer's
  usual gap between transactions, customer-initiated **contacts** and **complaints** in 90 days.

The composite is a logistic model: ``z = intercept + sum(weight x signal)``, ``probability =
1 / (1 + exp(-z))``; the churn score is the probability in percent. Weights and levels are
configuration (``churn.engagement``, ``churn.levels``), fitted offline.
"""

from __future__ import annotations

import math
from typing import Final

from churnwatch_state_monitor.engine.buckets import DAY
from churnwatch_state_monitor.engine.state import MONTH, MONTHS, CustomerState

_RECENT: Final = 3  # periods in the recent rate (the open one counted by its elapsed share)
_SHRINK: Final = 1.0  # pseudo-transactions added to both sides of a change
# recency: sqrt(2 x transactions missed) (the Poisson deviance of none seen) from 1.5 (about one
# missed: nothing) to 4.0 (eight missed: certain)
_RECENCY_FROM: Final = 1.5
_RECENCY_SPAN: Final = 2.5
# own-history deficit: the deviance (a z-like value) of the newest period or the newest three
# (the stronger) from 1.5 (a one-period dip is common: holidays; two windows tried) to 4.0, and
# of the two newest periods from 1.0 to 3.5 (one window: less margin for chance is needed)
_WINDOWS: Final = 3
_DEFICIT_FROM: Final = 1.5
_SUSTAINED_FROM: Final = 1.0
_DEFICIT_SPAN: Final = 2.5


class Engagement:
    """The logistic model's weights and the peer cohort table (immutable after start-up)."""

    def __init__(
        self,
        *,
        intercept: float,
        w_own: float,
        w_sustained: float,
        w_amount: float,
        w_inactive: float,
        w_recency: float,
        w_peers: float,
        w_contacts: float,
        w_complaints: float,
        w_states: float,
        min_history: int,
        cohorts: dict[str, float],
        default_cohort: float,
    ) -> None:
        self.intercept = intercept
        self.w_own = w_own
        self.w_sustained = w_sustained
        self.w_amount = w_amount
        self.w_inactive = w_inactive
        self.w_recency = w_recency
        self.w_peers = w_peers
        self.w_contacts = w_contacts
        self.w_complaints = w_complaints
        self.w_states = w_states
        self.min_history = min_history  # complete periods observed before the own baseline counts
        self.cohorts = cohorts  # "segment:tier" -> median transactions per period
        self.default_cohort = default_cohort

    def peer_rate(self, st: CustomerState) -> float:
        """The cohort's median customer-initiated transactions per period."""
        key = f"{st.segment or 'retail'}:{st.tier or 'mass'}"
        return self.cohorts.get(key, self.default_cohort)


class Signals:
    """The engagement signals of one customer at one time (each 0..1 unless said otherwise)."""

    __slots__ = ("amount", "contacts", "inactive", "own", "peers", "rate", "recency", "sustained")

    def __init__(self) -> None:
        self.own = 0.0  # fall of the newest period's count against the customer's own baseline
        self.sustained = 0.0  # the same for the two newest periods together (a lasting fall)
        self.amount = 0.0  # fall of the amount against the own baseline
        self.inactive = 0.0  # share of the last twelve complete periods without a transaction
        self.recency = 0.0  # idle time beyond the customer's usual gap
        self.peers = 0.0  # rate below the peer cohort's median
        self.contacts = 0  # customer-initiated contacts in 90 days (a count)
        self.rate = 0.0  # recent transactions per period


def clock(st: CustomerState) -> int:
    """The time the state is judged at: its newest event, or a later silence tick."""
    return max(st.newest, st.scored)


def signals(st: CustomerState, eng: Engagement, out: Signals) -> Signals:
    """Fill ``out`` with the engagement signals of ``st`` at ``clock(st)``."""
    now = clock(st)
    out.own = out.sustained = out.amount = out.inactive = out.recency = out.peers = 0.0
    out.rate = 0.0
    out.contacts = st.recent(st.contacts) if st.contacts else 0
    mtx = st.mtx
    if not mtx:
        return out
    period = now // MONTH
    lag = period - st.mon  # periods since the newest bucket (all of them without activity)
    elapsed = (now % MONTH) / MONTH
    observed = period - st.mfirst  # complete periods since the first activity
    recent_n = 0
    recent_a = 0
    base_n = 0
    base_a = 0
    base_periods = 0
    inactive = 0
    kept = len(mtx)  # the rows begin at the first activity's period (earlier ones: none)
    for age in range(MONTHS):
        i = kept - 1 - age + lag
        n = mtx[i] if 0 <= i < kept else 0
        a = st.mamt[i] if 0 <= i < kept else 0
        if age > observed:
            break
        if age < _RECENT:
            recent_n += n
            recent_a += a
        elif observed >= age:
            base_n += n
            base_a += a
            base_periods += 1
        if age >= 1 and n == 0:
            inactive += 1
    span = min(float(_RECENT - 1) + elapsed, float(observed) + elapsed)
    if span <= 0:
        return out
    rate = recent_n / span
    out.rate = rate
    peer = eng.peer_rate(st)
    if peer > 0 and rate < peer:
        out.peers = 1.0 - rate / peer
    if observed >= 1:
        out.inactive = inactive / min(12, observed)
    if base_periods >= eng.min_history and base_n > 0:
        base = base_n / base_periods
        expected = base * span
        expected_a = base_a / base_periods * span
        if expected_a > 0:
            unit = expected_a / expected  # one typical transaction's amount: the shrinkage
            amount = 1.0 - (recent_a + unit) / (expected_a + unit)
            out.amount = amount if amount > 0 else 0.0
        if st.last_act:
            # transactions the customer's own cadence expected in the time since the last one:
            # twice a month and 10 days idle is less than one (nothing), 60 days is four (strong)
            missed = base / 30.0 * (now - st.last_act) / DAY
            over = (math.sqrt(2.0 * missed) - _RECENCY_FROM) / _RECENCY_SPAN
            out.recency = 0.0 if over <= 0 else 1.0 if over >= 1 else over
    _deficit(st, now, observed, eng.min_history, out)
    return out


def _deficit(st: CustomerState, now: int, observed: int, min_history: int, out: Signals) -> None:
    """How far the recent count falls below the customer's own rate, as a deviance: in the
    newest period (the open one by its elapsed share) or the newest three, the stronger
    (``out.own``, 0..1 over ``_DEFICIT_FROM`` + ``_DEFICIT_SPAN``), and in the two newest
    (``out.sustained``, from ``_SUSTAINED_FROM``), each against the complete periods before its
    window, so a fall is judged against the customer's own variability, not as a fixed ratio:
    a third fewer transactions is strong evidence for a customer with forty a month and none
    for one with two. The two-period window has its own weight: a dip of one period (a holiday) and a fall
    that lasts (a fade) are different evidence."""
    mtx = st.mtx
    kept = len(mtx)
    lag = now // MONTH - st.mon
    elapsed = (now % MONTH) / MONTH
    recent = 0
    for k in range(1, _WINDOWS + 1):
        i = kept - k + lag  # the period k-1 before the open one
        recent += mtx[i] if 0 <= i < kept else 0
        span = elapsed + (k - 1)
        periods = min(observed, MONTHS - 1) - k + 1  # complete periods older than the window
        if periods < min_history or span < 0.25:
            continue
        total = 0
        for age in range(k, k + periods):
            j = kept - 1 - age + lag
            total += mtx[j] if 0 <= j < kept else 0
        # the window's share of all transactions if nothing changed: a binomial test of the
        # two counts, so a short or thin history (its own rate uncertain) is weak evidence
        n = recent + total
        share = span / (span + periods)
        expected = n * share
        if recent >= expected or n == 0:
            continue
        rest = n - recent
        t = rest * math.log(rest / (n - expected))
        if recent > 0:
            t += recent * math.log(recent / expected)
        d = math.sqrt(2.0 * t) if t > 0 else 0.0  # rounding: a deficit near 0 can come out < 0
        over = (d - (_SUSTAINED_FROM if k == 2 else _DEFICIT_FROM)) / _DEFICIT_SPAN
        value = 0.0 if over <= 0 else 1.0 if over >= 1 else over
        if k == 2:
            out.sustained = value
        elif value > out.own:
            out.own = value


def probability(z: float) -> float:
    """The logistic mapping of the linear score, in percent (0..100)."""
    if z >= 0:
        return 100.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return 100.0 * e / (1.0 + e)


def linear(eng: Engagement, s: Signals, *, complaints: int, states: float) -> float:
    """The logistic model's linear score ``z`` (``states``: the five states' composite, 0..100)."""
    contacts = min(4, s.contacts)
    complained = min(3, complaints)
    return (
        eng.intercept
        + eng.w_own * s.own
        + eng.w_sustained * s.sustained
        + eng.w_amount * s.amount
        + eng.w_inactive * s.inactive
        + eng.w_recency * s.recency
        + eng.w_peers * s.peers
        + eng.w_contacts * contacts
        + eng.w_complaints * complained
        + eng.w_states * states / 100.0
    )
