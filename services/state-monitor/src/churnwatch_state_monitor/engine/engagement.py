"""Engagement against the customer's own history and against peers, and the calibrated churn scale.

Measures (from the 30-day periods of ``CustomerState.mtx``/``mamt``, judged at the state's clock
``max(newest, scored)``, so silence counts):

- **rate**: customer-initiated transactions per period over the newest three (the open one
  counted by the share of it elapsed), and the amount likewise;
- **own baseline**: the mean of the complete periods three to twelve back (as far as observed);
  the change is judged with one pseudo-transaction of shrinkage, so one quiet month of a customer
  who transacts twice a month is weak evidence and three are strong;
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


class Engagement:
    """The logistic model's weights and the peer cohort table (immutable after start-up)."""

    def __init__(
        self,
        *,
        intercept: float,
        w_own: float,
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

    __slots__ = ("amount", "contacts", "inactive", "own", "peers", "rate", "recency")

    def __init__(self) -> None:
        self.own = 0.0  # fall of the transaction rate against the customer's own baseline
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
    out.own = out.amount = out.inactive = out.recency = out.peers = out.rate = 0.0
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
        own = 1.0 - (recent_n + _SHRINK) / (expected + _SHRINK)
        out.own = own if own > 0 else 0.0
        expected_a = base_a / base_periods * span
        if expected_a > 0:
            unit = expected_a / expected  # one typical transaction's amount: the shrinkage
            amount = 1.0 - (recent_a + unit) / (expected_a + unit)
            out.amount = amount if amount > 0 else 0.0
        if st.last_act:
            gap = 30.0 / base if base > 0.1 else 300.0  # the customer's usual days between
            idle = (now - st.last_act) / DAY
            over = (idle - gap) / (3 * gap + 15)
            out.recency = 0.0 if over <= 0 else 1.0 if over >= 1 else over
    return out


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
        + eng.w_amount * s.amount
        + eng.w_inactive * s.inactive
        + eng.w_recency * s.recency
        + eng.w_peers * s.peers
        + eng.w_contacts * contacts
        + eng.w_complaints * complained
        + eng.w_states * states / 100.0
    )
