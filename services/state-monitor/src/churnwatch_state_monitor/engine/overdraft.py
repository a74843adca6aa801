"""Overdraft in the risk state (issue 15 cause 6): overdrawn now, penalty interest, episodes;
and a thin buffer: the balance the account keeps falling to is small.

Early credit risk, long before a loan is past due; used by ``scoring.score_with``.
"""

from __future__ import annotations

from typing import Final

from churnwatch_state_monitor.engine.buckets import DAY
from churnwatch_state_monitor.engine.state import CustomerState

BUFFER_POINTS: Final = 20.0  # at a low-water mark of 0: below "overdrawn now" (25)
# a quarter of history first: a new account starts from its opening deposit
BUFFER_WEEKS: Final = 13


def buffer_points(st: CustomerState, floor: int) -> float:
    """A thin buffer: the balance's low-water mark (``CustomerState.low``) under ``floor``
    (whole units of the reporting currency): up to 20 points at 0, none at the floor; 0 until
    a quarter of history and a known balance (a negative mark is an overdraft: 20)."""
    if st.liquid is None or st.weeks < BUFFER_WEEKS or st.low >= floor or floor <= 0:
        return 0.0
    low = max(0, st.low)
    return BUFFER_POINTS * (floor - low) / floor


def overdrawn_points(st: CustomerState) -> float:
    """Overdrawn now: 25 points, up to 45 after 60 days in overdraft."""
    days = (st.newest - st.overdrawn) / DAY
    return 25.0 + (days if days < 60 else 60.0) / 3


def penalty_points(st: CustomerState) -> float:
    """Penalty interest charged: 35, 50, 65 ... for each posting in 90 days; 15 + 10 for each
    in 365 days when none is that recent (a memory of past trouble); up to 100."""
    recent = st.recent(st.pens)
    points = 20 + 15 * recent if recent else 15 + 10 * st.within_year(st.pens)
    return 100.0 if points > 100 else float(points)


def overdraft_points(st: CustomerState) -> float:
    """Overdraft episodes begun in 365 days: 15 points each, up to 100."""
    points = 15 * st.within_year(st.ods)
    return 100.0 if points > 100 else float(points)


def overdraft_risk(st: CustomerState) -> tuple[float, bool]:
    """The risk state's overdraft signal (the strongest of the three) and whether it is a
    fixed number of points (shown as an integer)."""
    best, fixed = 0.0, False
    if st.overdrawn:
        best = overdrawn_points(st)
    if st.pens:
        value = penalty_points(st)
        if value > best:
            best, fixed = value, True
    if st.ods:
        value = overdraft_points(st)
        if value > best:
            best, fixed = value, True
    return best, fixed
