"""The monitor's one code path: event in, updated state + alerts + snapshot out. No Kafka here.

Both the Faust agent and the offline backtest call ``Monitor.process``; it is deterministic given the
state and the event (alert ids, cooldowns and windows all use event time), so a replay after a crash
re-derives the same alert ids and the duplicate filter keeps state from changing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import orjson

from churnwatch_shared.alerts import (
    SEVERITY_RANK,
    Alert,
    AlertKind,
    CustomerStateName,
    Reason,
    alert_id_for,
)
from churnwatch_shared.events import EventType

from churnwatch_state_monitor import rules, silence
from churnwatch_state_monitor.rules import Before, Finding, money_str
from churnwatch_state_monitor.ruleset import RuleSet
from churnwatch_state_monitor.scoring import (
    LEVEL_SEVERITY,
    LEVELS,
    Scores,
    level_for,
    priority,
    score,
    state_level,
)
from churnwatch_state_monitor.state import (
    B_IB_OUT,
    B_IN,
    B_OUT,
    DAY,
    CustomerState,
    cents,
    event_fingerprint,
)

T = EventType
# Short, stable keys for the cooldown memory (rule ids would dominate the record's size).
_COOL_KEY: dict[str, str] = {rule_id: str(i) for i, rule_id in enumerate(rules.RULE_IDS)}


class Status(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # same event_id seen recently (a producer re-sent it)
    REDELIVERED = "redelivered"  # source offset already applied (consumer restart/rebalance)
    LATE = "late"


@dataclass(slots=True)
class Outcome:
    """What processing one event produced.

    ``state`` is the updated record when APPLIED, the unchanged current record when REDELIVERED
    (so the worker can re-publish its snapshot), and None otherwise.
    """

    status: Status
    state: CustomerState | None = None
    alerts: list[Alert] = field(default_factory=list)
    snapshot: bytes | None = None


class Monitor:
    """Applies events to customer states and evaluates the rule set."""

    def __init__(self, *, ruleset: RuleSet) -> None:
        self.rs = ruleset
        self._lateness = ruleset.lateness_hours * 3600
        self._cooldown = ruleset.cooldown_hours * 3600

    def process(
        self, state: CustomerState | None, event, *, now: datetime,  # noqa: ANN001
        offset: int | None = None,
    ) -> Outcome:
        """Apply one validated event (from source ``offset`` when known) to the customer's state."""
        st = state if state is not None else CustomerState()
        if offset is not None and offset <= st.off:
            return Outcome(Status.REDELIVERED, st)
        fingerprint = event_fingerprint(event.event_id)
        if fingerprint in st.seen:
            return Outcome(Status.DUPLICATE)
        at = int(event.occurred_at.timestamp())
        if st.events and at < st.newest - self._lateness:
            return Outcome(Status.LATE)
        rs = self.rs
        # silence rules due before this event are judged first, at their own grid time
        caught_up = self._silence(st, at=at, customer_id=event.customer_id, now=now)
        before = Before(act_mean=st.act_mean, weeks=st.weeks, folded=st.folded,
                        last_act=st.last_act)
        st.newest = max(st.newest, at)
        findings = self._apply(st, event, at, before)
        st.remember(fingerprint, cap=rs.dedup_window)
        st.events += 1
        if offset is not None:
            st.off = offset
        findings.extend(rules.periodic(st, event, before, rs))
        scores = score(st, rs)
        old_level = st.level
        st.churn = scores.churn
        st.level = level_for(score_value=scores.churn, current=old_level, rs=rs)
        if st.level > old_level:
            findings.append(self._churn_finding(st, event, scores))
        alerts = caught_up + [
            self._alert(st, f, event.customer_id, event.occurred_at, now, scores)
            for f in findings
            if self._passes_cooldown(st, f, at)
        ]
        publish = (bool(alerts) or st.level != old_level or st.events == 1
                   or st.events % rs.snapshot_every_events == 0)
        snapshot = self.snapshot_bytes(event.customer_id, st, scores) if publish else None
        return Outcome(Status.APPLIED, st, alerts, snapshot)

    def scan(self, state: CustomerState, customer_id: str, *, watermark: int,
             now: datetime | None = None) -> list[Alert]:
        """Silence rules due by the partition's event-time ``watermark`` (the record is updated in
        place when an alert fires; an empty list means nothing to write)."""
        return self._silence(state, at=watermark, customer_id=customer_id, now=now)

    def silence_due(self, state: CustomerState) -> int | None:
        """The event time at which ``scan`` would next find something for this record."""
        return silence.next_due(state, self.rs)

    def _silence(self, st: CustomerState, *, at: int, customer_id: str | None = None,
                 now: datetime | None = None) -> list[Alert]:
        due = silence.next_due(st, self.rs)
        if due is None or due > at:
            return []
        alerts: list[Alert] = []
        scores: Scores | None = None
        while due is not None and due <= at:  # dormancy and payroll may fall on different days
            occurred = datetime.fromtimestamp(due, UTC)
            found = silence.findings(st, at=due, rs=self.rs)
            if not found:
                break
            for f in found:
                if self._passes_cooldown(st, f, due):
                    scores = scores or score(st, self.rs)
                    alerts.append(self._alert(st, f, customer_id, occurred, now or occurred,
                                              scores))
                else:  # inside another alert's cooldown: this episode is not alerted again
                    st.cool[_COOL_KEY[f.rule_id]][0] = due
            due = silence.next_due(st, self.rs)
        return alerts

    # --- state updates and event-driven rules -----------------------------------------------

    def _apply(self, st: CustomerState, ev, at: int, before: Before) -> list[Finding]:  # noqa: ANN001
        rs, alpha, kind = self.rs, self.rs.ewma_alpha, ev.event_type
        found: list[Finding | None] = []
        if kind == T.TRANSACTION_POSTED:
            before.balance = st.apply_transaction(ev.payload, at, alpha=alpha)
            large = rules.large_interbank_outflow(st, ev, before, rs)
            # one transfer that already alerts on its own should not alert twice
            found.append(large or rules.interbank_outflow_share(st, ev, rs))
        elif kind == T.BALANCE_SNAPSHOT:
            st.apply_snapshot(ev.payload, at, alpha=alpha)
            found.append(rules.tier_band(st, ev, rs))
        elif kind == T.PRODUCT_SUBSCRIBED:
            st.apply_product(ev.payload.product, subscribed=True, at=at)
            st.last_act = max(st.last_act, at)
        elif kind == T.PRODUCT_CANCELLED:
            st.apply_product(ev.payload.product, subscribed=False, at=at)
            found.append(rules.product_cancelled(st, ev, rs))
        elif kind == T.ACCOUNT_OPENED:
            st.accounts += 1
            st.last_act = max(st.last_act, at)
        elif kind == T.ACCOUNT_CLOSED:
            st.accounts = max(0, st.accounts - 1)
            st.apply_account_closed(at)
        elif kind == T.LOAN_DISBURSED:
            st.loans += cents(ev.payload.amount)
        elif kind == T.LOAN_REPAID:
            if ev.payload.outstanding_after is not None and ev.payload.outstanding_after == 0:
                st.dpd = 0
                st.overdue = 0
        elif kind == T.LOAN_OVERDUE:
            p = ev.payload
            st.dpd, st.overdue = p.days_past_due, cents(p.overdue_amount)
            st.penalty = cents(p.penalty_interest) if p.penalty_interest is not None else st.penalty
            found.append(rules.loan_overdue(ev, rs))
        elif kind == T.LOAN_CLASSIFIED:
            previous = st.apply_classification(ev.payload.classification)
            found.append(rules.classification_downgrade(ev, previous, rs))
        elif kind == T.PAYMENT_BOUNCED:
            st.apply_bounce(at)
        elif kind == T.COMPLAINT_FILED:
            st.apply_complaint(at)
            found.append(rules.complaint_filed(ev, rs))
        elif kind == T.COMPLAINT_RESOLVED:
            st.open_complaints = max(0, st.open_complaints - 1)
        elif kind == T.CUSTOMER_PROFILE:
            p = ev.payload
            st.tier, st.segment, st.branch = p.tier.value, p.segment.value, p.branch_id
            if p.customer_since is not None:
                st.since = int(datetime(p.customer_since.year, p.customer_since.month,
                                        p.customer_since.day, tzinfo=UTC).timestamp())
            found.append(rules.tier_band(st, ev, rs))
        elif kind == T.CUSTOMER_ASSIGNED and ev.payload.branch_id:
            st.branch = ev.payload.branch_id
        return [f for f in found if f is not None]

    def _passes_cooldown(self, st: CustomerState, f: Finding, at: int) -> bool:
        rank = SEVERITY_RANK[f.severity]
        key = _COOL_KEY[f.rule_id]
        last = st.cool.get(key)
        if last is not None and at - last[0] < self._cooldown and rank <= last[1]:
            return False
        st.cool[key] = [at, rank]
        return True

    def _churn_finding(self, st: CustomerState, ev, scores: Scores) -> Finding:  # noqa: ANN001
        name = LEVELS[st.level]
        top = ", ".join(code for code, _, _ in scores.reasons) or "composite"
        return Finding(
            rule_id=rules.CHURN_SCORE, state=CustomerStateName.COMPOSITE,
            severity=LEVEL_SEVERITY[st.level], title=f"Churn risk {name} (score {scores.churn:.0f})",
            condition_key=f"{name}:{ev.event_id}", code=f"churn_{name}",
            text=f"composite churn score {scores.churn:.0f}; top reasons: {top}",
            observed=scores.churn, baseline=self._threshold(st.level), window="90d",
            evidence=[ev.event_id],
        )

    def _threshold(self, level: int) -> float:
        cfg = self.rs.churn.levels
        return (0.0, cfg.watch, cfg.warning, cfg.critical)[level]

    # --- outputs ----------------------------------------------------------------------------

    def _alert(self, st: CustomerState, f: Finding, customer_id: str | None,
               occurred_at: datetime, now: datetime, scores: Scores) -> Alert:
        reasons = [Reason(code=f.code, state=f.state, text=f.text, observed=f.observed,
                          baseline=f.baseline, window=f.window)]
        churn_score = None
        if f.rule_id == rules.CHURN_SCORE:
            churn_score = st.churn
            reasons = [Reason(code=code, state=state, text=f"{code} contributes {points:.0f}",
                              weight=round(points, 1)) for code, state, points in
                       scores.reasons] or reasons
        return Alert(
            alert_id=alert_id_for(customer_id=customer_id, rule_id=f.rule_id,
                                  condition_key=f.condition_key),
            kind=AlertKind.CHURN_RISK if f.rule_id == rules.CHURN_SCORE else AlertKind.ANOMALY,
            customer_id=customer_id, state=f.state, rule_id=f.rule_id, severity=f.severity,
            priority=priority(severity=f.severity, st=st), title=f.title, reasons=reasons,
            observed=f.observed, baseline=f.baseline, window=f.window, churn_score=churn_score,
            evidence_event_ids=f.evidence, ruleset_version=self.rs.version,
            occurred_at=occurred_at, detected_at=now, tier=st.tier, segment=st.segment,
            branch_id=st.branch,
        )

    def snapshot_dict(self, customer_id: str, st: CustomerState, scores: Scores) -> dict:
        """The CustomerStateSnapshot as plain data (built without pydantic on the hot path)."""
        rs = self.rs
        idle = (st.newest - st.last_act) // DAY if st.last_act else None
        metrics = {
            CustomerStateName.SCALE: {
                "deposits_demand": money_str(st.demand), "deposits_time": money_str(st.time_dep),
                "loans": money_str(st.loans), "investments": money_str(st.invest),
                "financial_assets": money_str(st.assets),
                "adb_30d": money_str(int(st.adb30)), "adb_90d": money_str(int(st.adb90)),
                "assets_baseline": money_str(int(st.assets_base)), "tier": st.tier,
            },
            CustomerStateName.STABILITY: {
                "txns_week_baseline": round(st.act_mean, 2), "days_since_activity": idle,
                "moved_to_time_deposits": money_str(st.time_shift),
                "tenure_days": (st.newest - st.since) // DAY if st.since else None,
                "complaints_90d": st.recent(st.complaints), "open_complaints": st.open_complaints,
            },
            CustomerStateName.RISK: {
                "days_past_due": st.dpd, "overdue_amount": money_str(st.overdue),
                "penalty_interest": money_str(st.penalty),
                "worst_classification": list(rules.CLASS_RANK)[st.worst_class],
                "bounced_90d": st.recent(st.bounces),
            },
            CustomerStateName.ACCOUNT_FLOW: {
                "inflow_30d": money_str(st.window(column=B_IN, buckets=5)),
                "outflow_30d": money_str(st.window(column=B_OUT, buckets=5)),
                "interbank_outflow_7d": money_str(st.window(column=B_IB_OUT, buckets=1)),
                "interbank_outflow_30d": money_str(st.window(column=B_IB_OUT, buckets=5)),
                "payroll_gap_days": round(st.payroll_gap, 1) if st.payroll_gap else None,
            },
            CustomerStateName.PRODUCT_USAGE: {
                "active_products": st.product_count(), "cancellations_90d": st.recent(st.cancels),
                "single_product": st.product_count() == 1,
                "card_spend_week_baseline": money_str(int(st.card_mean)),
                "online_txns_week_baseline": round(st.online_mean, 2),
            },
        }
        states = {
            name.value: {"level": LEVELS[state_level(value, rs)], "score": round(value, 1),
                   "metrics": metrics[name]}
            for name, value in scores.states.items()
        }
        return {
            "customer_id": customer_id,
            "as_of": datetime.fromtimestamp(st.newest, UTC).isoformat(),
            "churn_score": st.churn, "churn_level": LEVELS[st.level],
            "ruleset_version": rs.version, "tier": st.tier, "segment": st.segment,
            "branch_id": st.branch, "events_applied": st.events, "states": states,
        }

    def snapshot_bytes(self, customer_id: str, st: CustomerState, scores: Scores | None = None) -> bytes:
        """The snapshot as CUSTOMER_STATE record bytes."""
        scores = scores or score(st, self.rs)
        return orjson.dumps(self.snapshot_dict(customer_id, st, scores))
