"""The rule engine's own judgement as model features: its churn score, the five state scores and
the engagement signals the score is built from, at the as-of time.

With one year of history a training date has little past, and gradient-boosted trees cannot
rebuild from it what the rule score knows a priori (the deviance of the customer's recent count
against their own rate, the sustained fall, the peer cohort table, the corroboration of the
states). So the model is given those judgements, computed by the engine's own ``score_with`` and
``signals`` on the state at the as-of time T: the state is judged at ``max(newest, scored, T)``,
what the engine shows after a silence refresh at T (``Monitor._silence`` sets ``scored`` the
same way). Nothing after T is read: the state is the one sampled before the first event after T.

The judgement is the packaged rule set's (the product's calibrated engine), not a bank's local
rules file: a model's inputs do not move when the rules file is edited, and training and serving
compute them alike; the manifest records that rule set's version (``ruleset_version``).
"""

from __future__ import annotations

import math
from typing import Final

from churnwatch_state_monitor.engine.engagement import Signals, signals
from churnwatch_state_monitor.engine.limits import Limits
from churnwatch_state_monitor.engine.scoring import score_with
from churnwatch_state_monitor.engine.state import CustomerState

NAN: Final = math.nan
# the order of ``judge``'s values
RULE_FEATURES: Final = (
    "rule_churn_score",
    "rule_scale_score",
    "rule_stability_score",
    "rule_risk_score",
    "rule_account_flow_score",
    "rule_product_usage_score",
    "rule_own_fall",
    "rule_sustained_fall",
    "rule_amount_fall",
    "rule_below_peers",
    "rule_overdue_activity",
)
_LIMITS: list[Limits] = []  # the packaged rule set's engine records, loaded on first use
_SCRATCH: Final = Signals()  # refilled by every judgement (one thread computes features)


def limits() -> Limits:
    """The packaged rule set's engine records (loaded once)."""
    if not _LIMITS:
        from churnwatch_state_monitor.ruleset import limits_of, load_ruleset

        _LIMITS.append(limits_of(load_ruleset(None)))
    return _LIMITS[0]


def ruleset_version() -> str:
    """The version of the rule set that computes the rule features."""
    from churnwatch_state_monitor.ruleset import load_ruleset

    return str(load_ruleset(None).version)


def judge(st: CustomerState, t: int) -> list[float]:
    """The values of ``RULE_FEATURES`` for one customer at ``t`` (epoch s), in that order; the
    engagement signals NaN when the rule set has no calibrated engagement scale."""
    lim = limits()
    kept = st.scored
    if t > kept:
        st.scored = t  # judged at T as a silence refresh at T would; restored below
    try:
        sc = score_with(st, lim)
        eng = lim.engagement
        sig = signals(st, eng, _SCRATCH) if eng is not None else None
    finally:
        st.scored = kept
    v = sc.values
    out = [sc.churn, v[0], v[1], v[2], v[3], v[4]]
    if sig is None:
        out.extend((NAN, NAN, NAN, NAN, NAN))
    else:
        out.extend((sig.own, sig.sustained, sig.amount, sig.peers, sig.recency))
    return out


def _register() -> None:
    from churnwatch_state_monitor.model.features import Feature, FeatureFn, register

    def at(i: int) -> FeatureFn:
        return lambda s, t: judge(s, t)[i]

    # (name, state, label, unit): the signals are 0..1 shares, worded as percentages
    specs = (
        ("composite", "churn score of the rules", "points"),
        ("scale", "scale state score (assets against their usual level)", "points"),
        ("stability", "stability state score (dormancy, activity drop)", "points"),
        ("risk", "risk state score (arrears, overdrafts, bounced payments)", "points"),
        ("account_flow", "account flow state score (money leaving, payroll)", "points"),
        ("product_usage", "product usage state score (cancellations, products held)", "points"),
        ("engagement", "fall of transactions against own history, the rules' measure", "x"),
        ("engagement", "lasting fall of transactions over two months, the rules' measure", "x"),
        ("engagement", "fall of money moved against own history, the rules' measure", "x"),
        ("engagement", "transactions below peers, the rules' measure", "x"),
        ("engagement", "idle time beyond the customer's usual cadence, the rules' measure", "x"),
    )
    for i, (name, (state, label, unit)) in enumerate(zip(RULE_FEATURES, specs, strict=True)):
        register(Feature(name=name, state=state, label=label, unit=unit, fn=at(i), explained=False))


_register()
