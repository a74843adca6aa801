"""Corroboration: how many independent sources point at churn (the states' floor needs two).

A single noisy signal (a lump-sum transfer a stayer makes once, a customer who lives in
overdraft, one complaint, a quiet month) is common among customers who stay; two independent
ones together are not. The five states' composite sets the churn level only when at least two
sources agree (``scoring.score_with``); otherwise the calibrated engagement score alone does.
"""

from __future__ import annotations

from typing import Final

from churnwatch_state_monitor.engine.engagement import Engagement, Signals
from churnwatch_state_monitor.engine.state import CustomerState

STATE_SOURCE: Final = 25.0  # a state score at the states' watch floor counts as a source
ENGAGEMENT_SOURCE: Final = 1.0  # engagement signals adding this much to the linear score
CONTACTS_SOURCE: Final = 2  # customer-initiated contacts in 90 days


def engagement_points(eng: Engagement, sig: Signals) -> float:
    """What the customer's own activity (fall against own history in the newest period and in
    the two newest, idle time, inactive months) adds to the linear score."""
    return (
        eng.w_own * sig.own
        + eng.w_sustained * sig.sustained
        + eng.w_recency * sig.recency
        + eng.w_inactive * sig.inactive
    )


def sources(
    st: CustomerState,
    states: tuple[float, float, float],
    *,
    usage_signal: bool,
    sig: Signals,
    engaged: float,
    complaints: int,
) -> int:
    """Independent sources of churn evidence: money (assets below baseline or money leaving, at
    or above the watch floor) and stability (risk is credit risk: an overdraft is a way of
    living, and its net outflow already counts in account flow); a cancellation (holding one product is a shape,
    not a signal); the engagement signals; a complaint; repeated contacts."""
    scale, stability, flow = states
    # assets below their baseline and money leaving are one source: one lump sum moves both
    count = 1 if scale >= STATE_SOURCE or flow >= STATE_SOURCE else 0
    if stability >= STATE_SOURCE:
        count += 1
    if usage_signal:
        count += 1
    if engaged >= ENGAGEMENT_SOURCE:
        count += 1
    if complaints:
        count += 1
    if sig.contacts >= CONTACTS_SOURCE:
        count += 1
    return count
