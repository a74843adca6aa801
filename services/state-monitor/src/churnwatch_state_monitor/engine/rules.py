"""Anomaly rules: each looks at the customer's updated state and the event, and may yield a finding.

Rule ids (also the keys of the rules file): see ``RULE_IDS``. A finding names its state, the observed
value, the baseline it was compared with, the window and the evidence event ids; the engine turns it
into an ``Alert`` after the cooldown check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from churnwatch_shared.alerts import CustomerStateName, Severity
from churnwatch_shared.events import ComplaintSeverity, LoanClassification
from churnwatch_state_monitor.engine.buckets import B_ACTS, B_IB_OUT, B_WEEK
from churnwatch_state_monitor.engine.facts import Txn, cents, money_str
from churnwatch_state_monitor.engine.limits import Limits, limits_of
from churnwatch_state_monitor.engine.state import CLASS_RANK, CustomerState
from churnwatch_state_monitor.ruleset import RuleSet

LARGE_INTERBANK_OUTFLOW: Final = "account_flow.large_interbank_outflow"
INTERBANK_OUTFLOW_SHARE: Final = "account_flow.interbank_outflow_share"
PAYROLL_MISSING: Final = "account_flow.payroll_missing"
DORMANCY: Final = "stability.dormancy"
ACTIVITY_DROP: Final = "stability.activity_drop"
COMPLAINT_FILED: Final = "stability.complaint_filed"
PRODUCT_CANCELLED: Final = "product_usage.product_cancelled"
LOAN_OVERDUE: Final = "risk.loan_overdue"
CLASSIFICATION_DOWNGRADE: Final = "risk.classification_downgrade"
TIER_CRITICAL_BAND: Final = "scale.tier_critical_band"
CHURN_SCORE: Final = "churn.composite_score"
SUSTAINED_DECLINE: Final = "stability.sustained_decline"

RULE_IDS: tuple[str, ...] = (
    LARGE_INTERBANK_OUTFLOW,
    INTERBANK_OUTFLOW_SHARE,
    PAYROLL_MISSING,
    DORMANCY,
    ACTIVITY_DROP,
    COMPLAINT_FILED,
    PRODUCT_CANCELLED,
    LOAN_OVERDUE,
    CLASSIFICATION_DOWNGRADE,
    TIER_CRITICAL_BAND,
    CHURN_SCORE,
    SUSTAINED_DECLINE,
)

# The key of each rule's cooldown memory in a stored state record. Stored: a code is never changed
# or reused (a renamed rule keeps its code); a new rule takes a new one. Short, because every
# record carries the codes of the rules it fired.
COOLDOWN_CODE: dict[str, str] = {
    LARGE_INTERBANK_OUTFLOW: "ibo",
    INTERBANK_OUTFLOW_SHARE: "ibs",
    PAYROLL_MISSING: "pay",
    DORMANCY: "dorm",
    ACTIVITY_DROP: "act",
    COMPLAINT_FILED: "cmp",
    PRODUCT_CANCELLED: "prd",
    LOAN_OVERDUE: "ovd",
    CLASSIFICATION_DOWNGRADE: "cls",
    TIER_CRITICAL_BAND: "band",
    CHURN_SCORE: "churn",
    SUSTAINED_DECLINE: "decl",
}

_COMPLAINT_SEVERITY = {
    ComplaintSeverity.LOW: Severity.WATCH,
    ComplaintSeverity.MEDIUM: Severity.WARNING,
    ComplaintSeverity.HIGH: Severity.CRITICAL,
}
_SEVERE_CLASSES: Final = {
    CLASS_RANK[LoanClassification.DOUBTFUL],
    CLASS_RANK[LoanClassification.LOSS],
}


@dataclass(slots=True)
class Finding:
    """One rule firing, before cooldown and before it becomes an Alert."""

    rule_id: str
    state: CustomerStateName
    severity: Severity
    title: str
    condition_key: str
    code: str
    text: str
    observed: float | str | None
    baseline: float | str | None
    window: str | None
    evidence: list[str]

    def __init__(
        self,
        *,
        rule_id: str,
        state: CustomerStateName,
        severity: Severity,
        title: str,
        condition_key: str,
        code: str,
        text: str,
        observed: float | str | None = None,
        baseline: float | str | None = None,
        window: str | None = None,
        evidence: list[str] | None = None,
    ) -> None:
        self.rule_id, self.state, self.severity, self.title = rule_id, state, severity, title
        self.condition_key, self.code, self.text = condition_key, code, text
        self.observed, self.baseline, self.window = observed, baseline, window
        self.evidence = [] if evidence is None else evidence


@dataclass(slots=True)
class Before:
    """What the engine remembers from just before the event was applied."""

    act_mean: float
    weeks: int
    folded: int
    last_act: int
    balance: int | None  # balance before a transaction, when known

    def __init__(self, act_mean: float, weeks: int, folded: int, last_act: int) -> None:
        self.act_mean, self.weeks, self.folded, self.last_act = act_mean, weeks, folded, last_act
        self.balance = None


def large_interbank_outflow(t: Txn, event_id: str, before: Before, lim: Limits) -> Finding | None:
    """One debit to another bank of at least ``min_share`` of the balance before it."""
    balance = before.balance
    if not lim.large_on or not t.to_other_bank:
        return None
    amount = t.amount
    if balance is None or balance <= 0 or amount < lim.large_min_amount:
        return None
    cfg = lim.rs.rules.large_interbank_outflow
    share = amount / balance
    if share < cfg.min_share:
        return None
    severity = Severity.CRITICAL if share >= cfg.critical_share else cfg.severity
    return Finding(
        rule_id=LARGE_INTERBANK_OUTFLOW,
        state=CustomerStateName.ACCOUNT_FLOW,
        severity=severity,
        title=f"Transfer to another bank moved {share:.0%} of the balance",
        condition_key=event_id,
        code="interbank_outflow_large",
        text=(
            f"one outbound interbank transfer of {share:.0%} of the balance before it "
            f"(threshold {cfg.min_share:.0%})"
        ),
        observed=round(share, 4),
        baseline=money_str(balance),
        window="event",
        evidence=[event_id],
    )


def interbank_outflow_share(
    st: CustomerState, t: Txn, event_id: str, lim: Limits
) -> Finding | None:
    """Outflow to other banks over 7 / 30 days as a share of (balance + that outflow)."""
    if not lim.share_on or not t.to_other_bank:
        return None
    if st.liquid is None:  # no balance known: a share cannot be judged
        return None
    _, _, out_30d, transfers, _ = st.month_flow()
    if transfers < lim.min_transfers:  # a one-off purchase is not money moving away
        return None
    liquid = max(st.liquid, 0)
    cfg = lim.rs.rules.interbank_outflow_share
    for window, buckets, floor in (("30d", 5, cfg.min_share_30d), ("7d", 1, cfg.min_share_7d)):
        out = out_30d if buckets == 5 else st.window(column=B_IB_OUT, buckets=buckets)
        if out < lim.share_min_amount:
            continue
        share = out / (out + liquid)
        if share >= floor:
            week = st.flow[-1][B_WEEK]
            return Finding(
                rule_id=INTERBANK_OUTFLOW_SHARE,
                state=CustomerStateName.ACCOUNT_FLOW,
                severity=cfg.severity,
                title=f"{share:.0%} of funds moved to other banks in {window}",
                condition_key=f"{window}:{week}",
                code="interbank_outflow_share",
                text=(
                    f"outflow to other banks is {share:.0%} of balance plus outflow over "
                    f"{window} ({transfers} transfers in 30d)"
                ),
                observed=round(share, 4),
                baseline=floor,
                window=window,
                evidence=[event_id],
            )
    return None


def periodic(st: CustomerState, event_id: str, before: Before, lim: Limits) -> list[Finding]:
    """Weekly activity rules, run when a week closed (dormancy and missing payroll: ``silence``)."""
    found: list[Finding] = []
    if st.folded <= before.folded:
        return found
    decline = sustained_decline(st, event_id, lim)
    if decline is not None:
        found.append(decline)
    if lim.drop_on and before.weeks >= lim.drop_warmup and before.act_mean >= lim.drop_min_baseline:
        # the quietest week that closed with this event (a week with no row had none)
        counts = {r[B_WEEK]: r[B_ACTS] for r in st.flow}
        week = count = -1
        for w in range(max(before.folded + 1, st.folded - 8), st.folded + 1):
            c = counts.get(w, 0)
            if count < 0 or c < count:
                week, count = w, c
        if count <= before.act_mean * lim.drop_ratio:
            found.append(
                Finding(
                    rule_id=ACTIVITY_DROP,
                    state=CustomerStateName.STABILITY,
                    severity=lim.rs.rules.activity_drop.severity,
                    title="Weekly activity fell far below the usual level",
                    condition_key=f"week:{week}",
                    code="activity_drop",
                    text=(
                        f"{count} customer-initiated transactions last week against a usual "
                        f"{before.act_mean:.1f}"
                    ),
                    observed=count,
                    baseline=round(before.act_mean, 2),
                    window="7d",
                    evidence=[event_id],
                )
            )
    return found


def decline_level(st: CustomerState, lim: Limits) -> tuple[int, float, int] | None:
    """(four-week count, usual weekly count, weeks) when activity has faded and stayed down."""
    if not lim.decline_on or st.weeks < lim.decline_after:
        return None
    weekly = st.closed_weeks(alpha=lim.alpha)
    if weekly is None:
        return None
    base, counts = weekly
    if base < lim.decline_min_baseline:
        return None
    limit, normal = lim.decline_ratio * 4 * base, lim.normal_ratio * base
    newest = counts[1:]
    if sum(newest) >= limit or max(newest) >= normal:
        return None
    if not lim.decline_confirm or (lim.decline_early and winding_down(newest)):
        return sum(newest), base, 4
    older = counts[:4]
    if sum(older) >= limit or max(older) >= normal:
        return None
    return sum(newest), base, 5


def winding_down(weeks: list[int]) -> bool:
    """Weekly counts (oldest first) that taper off: every older week busier than the newest (a
    holiday stops all at once after a normal week, so its quiet weeks are equally silent)."""
    return weeks[-1] < min(weeks[:-1])


def sustained_decline(st: CustomerState, event_id: str, lim: Limits) -> Finding | None:
    """Activity well below the customer's own usual level for weeks, with no week back at it.

    Alerts once per episode: ``st.fading`` remembers the week the decline was first seen until a
    closed week is back at the usual level.
    """
    found = decline_level(st, lim)
    if found is None:
        st.fading = 0
        return None
    if st.fading:
        return None
    total, base, weeks = found
    week = st.flow[-1][B_WEEK]
    st.fading = week
    return Finding(
        rule_id=SUSTAINED_DECLINE,
        state=CustomerStateName.STABILITY,
        severity=lim.decline_severity,
        title="Activity has faded for weeks without recovering",
        condition_key=f"since:{week - weeks}",
        code="sustained_decline",
        text=(
            f"{total} customer-initiated transactions in the last 4 weeks against a usual "
            f"{base:.1f} a week; no week of the last {weeks} back at the usual level"
        ),
        observed=total,
        baseline=round(base * 4, 1),
        window="28d",
        evidence=[event_id],
    )


def complaint_filed(ev, rs: RuleSet) -> Finding | None:
    """Every complaint is a strong churn signal: few unhappy customers complain at all."""
    cfg = rs.rules.complaint_filed
    if not cfg.enabled:
        return None
    severity = _COMPLAINT_SEVERITY[ev.payload.severity]
    return Finding(
        rule_id=COMPLAINT_FILED,
        state=CustomerStateName.STABILITY,
        severity=severity,
        title=f"Complaint filed ({ev.payload.category})",
        condition_key=ev.event_id,
        code="complaint_filed",
        text=f"{ev.payload.severity} complaint about {ev.payload.category}",
        observed=ev.payload.severity.value,
        window="event",
        evidence=[ev.event_id],
    )


def product_cancelled(st: CustomerState, ev, rs: RuleSet) -> Finding | None:
    """A cancelled product; repeated cancellations within 90 days are critical."""
    cfg = rs.rules.product_cancelled
    if not cfg.enabled:
        return None
    count = st.recent(st.cancels)
    severity = Severity.CRITICAL if count >= cfg.critical_count_90d else cfg.severity
    return Finding(
        rule_id=PRODUCT_CANCELLED,
        state=CustomerStateName.PRODUCT_USAGE,
        severity=severity,
        title=f"Product cancelled: {ev.payload.product}",
        condition_key=ev.event_id,
        code="product_cancelled",
        text=f"{count} product cancellation(s) in 90 days",
        observed=count,
        baseline=cfg.critical_count_90d,
        window="90d",
        evidence=[ev.event_id],
    )


def loan_overdue(ev, rs: RuleSet) -> Finding | None:
    """Days past due, graded watch / warning / critical."""
    cfg = rs.rules.loan_overdue
    dpd = ev.payload.days_past_due
    if not cfg.enabled or dpd <= 0:
        return None
    if dpd >= cfg.critical_days:
        severity = Severity.CRITICAL
    elif dpd >= cfg.warning_days:
        severity = Severity.WARNING
    else:
        severity = cfg.severity
    return Finding(
        rule_id=LOAN_OVERDUE,
        state=CustomerStateName.RISK,
        severity=severity,
        title=f"Loan {dpd} days past due",
        condition_key=f"{ev.payload.loan_id}:{severity}",
        code="loan_overdue",
        text=f"loan {ev.payload.loan_id} is {dpd} days past due",
        observed=dpd,
        baseline=cfg.warning_days,
        window="event",
        evidence=[ev.event_id],
    )


def classification_downgrade(ev, previous: int, rs: RuleSet) -> Finding | None:
    """A loan classified worse than any of the customer's loans before."""
    cfg = rs.rules.classification_downgrade
    rank = CLASS_RANK[ev.payload.classification]
    if not cfg.enabled or rank <= previous:
        return None
    severity = Severity.CRITICAL if rank in _SEVERE_CLASSES else cfg.severity
    return Finding(
        rule_id=CLASSIFICATION_DOWNGRADE,
        state=CustomerStateName.RISK,
        severity=severity,
        title=f"Loan classified {ev.payload.classification}",
        condition_key=f"{ev.payload.loan_id}:{ev.payload.classification}",
        code="loan_classification_downgrade",
        text=f"loan {ev.payload.loan_id} downgraded to {ev.payload.classification}",
        observed=ev.payload.classification.value,
        baseline=list(CLASS_RANK)[previous],
        window="event",
        evidence=[ev.event_id],
    )


def band_of(st: CustomerState, rs: RuleSet) -> int:
    """0 at/above the tier threshold (or never reached it), 1 inside the critical band, 2 below."""
    return band_in(st, limits_of(rs).tier_floors)


def band_in(st: CustomerState, tier_floors: dict[str, tuple[int, int]]) -> int:
    """``band_of`` with the rule set's tier floors (threshold, band edge; cents) at hand."""
    tier = st.tier
    floors = tier_floors.get(tier) if tier else None
    if floors is None:
        return 0
    threshold, lowest = floors
    assets = st.demand + st.time_dep + st.invest
    if st.peak_assets < threshold or assets >= threshold:
        return 0
    return 1 if assets >= lowest else 2


def tier_band(st: CustomerState, event_id: str, lim: Limits) -> Finding | None:
    """Assets crossing down into the critical band below the tier threshold, or below the band.

    Fires only on the crossing (from at/above the threshold, or from the band to below it), never
    for a customer who never held the tier's assets. Records the band judged in ``st.band``.
    """
    previous, current = st.band, band_in(st, lim.tier_floors)
    st.band = current
    if current <= previous or st.peak_assets == 0:
        return None
    cfg = lim.rs.rules.tier_critical_band
    if not cfg.enabled:
        return None
    threshold = cents(lim.rs.tiers[st.tier].threshold)  # type: ignore[index]
    assets = st.assets
    severity = cfg.severity if current == 1 else Severity.CRITICAL
    where = "inside the critical band" if current == 1 else "below the critical band"
    return Finding(
        rule_id=TIER_CRITICAL_BAND,
        state=CustomerStateName.SCALE,
        severity=severity,
        title=f"Assets {where} of tier {st.tier}",
        condition_key=f"{st.tier}:{severity}",
        code="tier_critical_band",
        text=f"financial assets {where} below the {st.tier} threshold",
        observed=money_str(assets),
        baseline=money_str(threshold),
        window="snapshot",
        evidence=[event_id],
    )
