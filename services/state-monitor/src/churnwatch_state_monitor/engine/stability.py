"""Stability rules: dormancy, a week far below the usual activity, a fade that lasts, complaints.

Thresholds in counts, ratios and seconds; the config models that validate them and build these
records are in ``churnwatch_state_monitor.engine_config.stability``.
"""

from __future__ import annotations

from typing import Final

from churnwatch_shared.alerts import CustomerStateName, Severity
from churnwatch_shared.events import ComplaintSeverity, EventType
from churnwatch_state_monitor.engine.account_flow import on_grid
from churnwatch_state_monitor.engine.buckets import B_ACTS, B_WEEK, DAY
from churnwatch_state_monitor.engine.rules import SILENCE, WEEK_CLOSED, Context, Finding, Rule
from churnwatch_state_monitor.engine.state import CustomerState

DORMANCY: Final = "stability.dormancy"
ACTIVITY_DROP: Final = "stability.activity_drop"
SUSTAINED_DECLINE: Final = "stability.sustained_decline"
COMPLAINT_FILED: Final = "stability.complaint_filed"

_STATE: Final = CustomerStateName.STABILITY
_COMPLAINT_SEVERITY: Final = {
    ComplaintSeverity.LOW: Severity.WATCH,
    ComplaintSeverity.MEDIUM: Severity.WARNING,
    ComplaintSeverity.HIGH: Severity.CRITICAL,
}


class Dormancy(Rule):
    """No customer-initiated activity for ``dormant_days`` (silence: judged by event time)."""

    def __init__(self, *, enabled: bool, severity: Severity, dormant_days: int, step: int) -> None:
        super().__init__(
            rule_id=DORMANCY,
            code="dorm",
            state=_STATE,
            on=(SILENCE,),
            enabled=enabled,
            severity=severity,
        )
        self.dormant_days = dormant_days  # also the stability score's scale
        self.dormant = dormant_days * DAY
        self.step = step  # the silence grid (s)

    def due(self, st: CustomerState) -> int | None:
        """The grid time at which dormancy is judged, or None (once per silence episode)."""
        last_act = st.last_act
        if not last_act or not self.enabled:
            return None
        fired = st.cool.get(self.code)
        if fired is not None and fired[0] > last_act:
            return None
        return on_grid(last_act + self.dormant, self.step)

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        due = self.due(st)
        if due is None or due > cx.at:
            return None
        idle = (due - st.last_act) // DAY
        return Finding(
            rule_id=DORMANCY,
            state=_STATE,
            severity=self.severity,
            title=f"No customer-initiated activity for {idle} days",
            condition_key=f"since:{st.last_act}",
            code="dormant",
            text=f"{idle} days since the last customer-initiated activity",
            observed=idle,
            baseline=self.dormant_days,
            window=f"{idle}d",
        )


def winding_down(weeks: list[int]) -> bool:
    """Weekly counts (oldest first) that taper off: every older week busier than the newest (a
    holiday stops all at once after a normal week, so its quiet weeks are equally silent)."""
    return weeks[-1] < min(weeks[:-1])


class SustainedDecline(Rule):
    """Activity well below the customer's own usual level for weeks, with no week back at it.

    Alerts once per episode: ``st.fading`` remembers the week the decline was first seen until a
    closed week is back at the usual level.
    """

    def __init__(
        self,
        *,
        enabled: bool,
        severity: Severity,
        decline_ratio: float,
        normal_ratio: float,
        confirm: bool,
        early: bool,
        min_baseline: float,
        warmup_weeks: int,
        alpha: float,
    ) -> None:
        super().__init__(
            rule_id=SUSTAINED_DECLINE,
            code="decl",
            state=_STATE,
            on=(WEEK_CLOSED,),
            enabled=enabled,
            severity=severity,
        )
        self.decline_ratio = decline_ratio
        self.normal_ratio = normal_ratio
        self.confirm = confirm
        self.early = early
        self.min_baseline = min_baseline
        self.after = warmup_weeks + 4  # weeks before it can judge
        self.alpha = alpha

    def level(self, st: CustomerState) -> tuple[int, float, int] | None:
        """(four-week count, usual weekly count, weeks) when activity has faded and stayed down."""
        if not self.enabled or st.weeks < self.after:
            return None
        weekly = st.closed_weeks(alpha=self.alpha)
        if weekly is None:
            return None
        base, counts = weekly
        if base < self.min_baseline:
            return None
        limit, normal = self.decline_ratio * 4 * base, self.normal_ratio * base
        newest = counts[1:]
        if sum(newest) >= limit or max(newest) >= normal:
            return None
        if not self.confirm or (self.early and winding_down(newest)):
            return sum(newest), base, 4
        older = counts[:4]
        if sum(older) >= limit or max(older) >= normal:
            return None
        return sum(newest), base, 5

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        found = self.level(st)
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
            state=_STATE,
            severity=self.severity,
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
            evidence=[cx.event_id],
        )


class ActivityDrop(Rule):
    """The quietest week that closed with this event far below the usual weekly activity."""

    def __init__(
        self,
        *,
        enabled: bool,
        severity: Severity,
        drop_ratio: float,
        min_baseline: float,
        warmup_weeks: int,
    ) -> None:
        super().__init__(
            rule_id=ACTIVITY_DROP,
            code="act",
            state=_STATE,
            on=(WEEK_CLOSED,),
            enabled=enabled,
            severity=severity,
        )
        self.drop_ratio = drop_ratio
        self.min_baseline = min_baseline
        self.warmup_weeks = warmup_weeks

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        if not self.enabled or cx.weeks < self.warmup_weeks or cx.act_mean < self.min_baseline:
            return None
        # the quietest week that closed with this event (a week with no row had none)
        counts = {r[B_WEEK]: r[B_ACTS] for r in st.flow}
        week = count = -1
        for w in range(max(cx.folded + 1, st.folded - 8), st.folded + 1):
            c = counts.get(w, 0)
            if count < 0 or c < count:
                week, count = w, c
        if count > cx.act_mean * self.drop_ratio:
            return None
        return Finding(
            rule_id=ACTIVITY_DROP,
            state=_STATE,
            severity=self.severity,
            title="Weekly activity fell far below the usual level",
            condition_key=f"week:{week}",
            code="activity_drop",
            text=(
                f"{count} customer-initiated transactions last week against a usual "
                f"{cx.act_mean:.1f}"
            ),
            observed=count,
            baseline=round(cx.act_mean, 2),
            window="7d",
            evidence=[cx.event_id],
        )


class ComplaintFiled(Rule):
    """Every complaint is a strong churn signal: few unhappy customers complain at all."""

    def __init__(self, *, enabled: bool, severity: Severity) -> None:
        super().__init__(
            rule_id=COMPLAINT_FILED,
            code="cmp",
            state=_STATE,
            on=(EventType.COMPLAINT_FILED.value,),
            enabled=enabled,
            severity=severity,
        )

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        if not self.enabled:
            return None
        p = cx.ev.payload
        return Finding(
            rule_id=COMPLAINT_FILED,
            state=_STATE,
            severity=_COMPLAINT_SEVERITY[p.severity],
            title=f"Complaint filed ({p.category})",
            condition_key=cx.event_id,
            code="complaint_filed",
            text=f"{p.severity} complaint about {p.category}",
            observed=p.severity.value,
            window="event",
            evidence=[cx.event_id],
        )
