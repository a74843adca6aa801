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
from churnwatch_shared.events import Direction, EventType

from churnwatch_state_monitor import rules, silence
from churnwatch_state_monitor.rules import Before, Finding, money_str
from churnwatch_state_monitor.ruleset import RuleSet, derived
from churnwatch_state_monitor.scoring import (
    LEVEL_SEVERITY,
    LEVELS,
    Scores,
    next_level,
    priority,
    score,
    score_with,
)
from churnwatch_state_monitor.state import (
    B_IB_OUT,
    DAY,
    CustomerState,
    cents,
    event_fingerprint,
)

T = EventType
_DEBIT = Direction.DEBIT
_CLASS_NAMES: tuple[str, ...] = tuple(rules.CLASS_RANK)  # rank -> classification
_SCALE, _STABILITY, _RISK, _ACCOUNT_FLOW, _PRODUCT_USAGE = (
    CustomerStateName.SCALE, CustomerStateName.STABILITY, CustomerStateName.RISK,
    CustomerStateName.ACCOUNT_FLOW, CustomerStateName.PRODUCT_USAGE,
)
_STATE_KEY: dict[CustomerStateName, str] = {name: name.value for name in CustomerStateName}
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
        self._derived = derived(ruleset)

    def process(
        self, state: CustomerState | None, event, *, now: datetime,  # noqa: ANN001
        offset: int | None = None,
    ) -> Outcome:
        """Apply one validated event (from source ``offset`` when known) to the customer's state."""
        st = state if state is not None else CustomerState()
        if offset is not None and offset <= st.off:
            return Outcome(Status.REDELIVERED, st)
        fingerprint = event_fingerprint(event.event_id)
        if st.has_seen(fingerprint):
            return Outcome(Status.DUPLICATE)
        at = int(event.occurred_at.timestamp())
        if st.events and at < st.newest - self._lateness:
            return Outcome(Status.LATE)
        rs = self.rs
        # silence rules due before this event are judged first, at their own grid time
        due = silence.next_due(st, rs, self._derived)
        caught_up = (self._silence(st, at=at, customer_id=event.customer_id, now=now)
                     if due is not None and due <= at else [])
        before = Before(st.act_mean, st.weeks, st.folded, st.last_act)
        st.newest = max(st.newest, at)
        handler = _ON_EVENT.get(event.event_type)  # state update + event-driven rule
        found = handler(self, st, event, at, before) if handler is not None else None
        findings = [] if found is None else [found]
        st.remember(fingerprint, cap=rs.dedup_window)
        st.events += 1
        if offset is not None:
            st.off = offset
        if st.folded > before.folded:  # a week closed: the weekly rules have something to judge
            findings.extend(rules.periodic(st, event, before, rs))
        scores = score_with(st, rs, self._derived)
        old_level = st.level
        st.churn = scores.churn
        st.level = next_level(scores.churn, old_level, self._derived.levels,
                              self._derived.hysteresis)
        if st.level > old_level:
            findings.append(self._churn_finding(st, event, scores))
        if findings:
            alerts = caught_up + [
                self._alert(st, f, event.customer_id, event.occurred_at, now, scores)
                for f in findings
                if self._passes_cooldown(st, f, at)
            ]
        else:
            alerts = caught_up
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
        return silence.next_due(state, self.rs, self._derived)

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

    # one handler per event type (``_ON_EVENT``): update the state, return the event-driven
    # rule's finding

    def _on_transaction(self, st: CustomerState, ev, at: int, before: Before) -> Finding | None:
        rs, p = self.rs, ev.payload
        before.balance = st.apply_transaction(p, at, alpha=rs.ewma_alpha)
        if p.direction is not _DEBIT or p.counterparty_is_own_bank:
            return None  # both rules judge debits to other banks only
        # one transfer that already alerts on its own should not alert twice
        return (rules.large_interbank_outflow(st, ev, before, rs)
                or rules.interbank_outflow_share(st, ev, rs))

    def _on_snapshot(self, st: CustomerState, ev, at: int, _: Before) -> Finding | None:
        st.apply_snapshot(ev.payload, at, alpha=self.rs.ewma_alpha)
        return rules.tier_band(st, ev, self.rs)

    def _on_subscribed(self, st: CustomerState, ev, at: int, _: Before) -> None:
        st.apply_product(ev.payload.product, subscribed=True, at=at)
        st.last_act = max(st.last_act, at)

    def _on_cancelled(self, st: CustomerState, ev, at: int, _: Before) -> Finding | None:
        st.apply_product(ev.payload.product, subscribed=False, at=at)
        return rules.product_cancelled(st, ev, self.rs)

    def _on_account_opened(self, st: CustomerState, _ev, at: int, _: Before) -> None:
        st.accounts += 1
        st.last_act = max(st.last_act, at)

    def _on_account_closed(self, st: CustomerState, _ev, at: int, _: Before) -> None:
        st.accounts = max(0, st.accounts - 1)
        st.apply_account_closed(at)

    def _on_disbursed(self, st: CustomerState, ev, _at: int, _: Before) -> None:
        st.loans += cents(ev.payload.amount)

    def _on_repaid(self, st: CustomerState, ev, _at: int, _: Before) -> None:
        if ev.payload.outstanding_after is not None and ev.payload.outstanding_after == 0:
            st.dpd = 0
            st.overdue = 0

    def _on_overdue(self, st: CustomerState, ev, _at: int, _: Before) -> Finding | None:
        p = ev.payload
        st.dpd, st.overdue = p.days_past_due, cents(p.overdue_amount)
        st.penalty = cents(p.penalty_interest) if p.penalty_interest is not None else st.penalty
        return rules.loan_overdue(ev, self.rs)

    def _on_classified(self, st: CustomerState, ev, _at: int, _: Before) -> Finding | None:
        previous = st.apply_classification(ev.payload.classification)
        return rules.classification_downgrade(ev, previous, self.rs)

    def _on_bounced(self, st: CustomerState, _ev, at: int, _: Before) -> None:
        st.apply_bounce(at)

    def _on_complaint(self, st: CustomerState, ev, at: int, _: Before) -> Finding | None:
        st.apply_complaint(at)
        return rules.complaint_filed(ev, self.rs)

    def _on_resolved(self, st: CustomerState, _ev, _at: int, _: Before) -> None:
        st.open_complaints = max(0, st.open_complaints - 1)

    def _on_profile(self, st: CustomerState, ev, _at: int, _: Before) -> Finding | None:
        p = ev.payload
        st.tier, st.segment, st.branch = p.tier.value, p.segment.value, p.branch_id
        if p.customer_since is not None:
            st.since = int(datetime(p.customer_since.year, p.customer_since.month,
                                    p.customer_since.day, tzinfo=UTC).timestamp())
        return rules.tier_band(st, ev, self.rs)

    def _on_assigned(self, st: CustomerState, ev, _at: int, _: Before) -> None:
        if ev.payload.branch_id:
            st.branch = ev.payload.branch_id

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
        inflow, outflow, ib_out, _, _ = st.month_flow()
        products = st.products.bit_count()
        metrics = {
            _SCALE: {
                "deposits_demand": money_str(st.demand), "deposits_time": money_str(st.time_dep),
                "loans": money_str(st.loans), "investments": money_str(st.invest),
                "financial_assets": money_str(st.assets),
                "adb_30d": money_str(int(st.adb30)), "adb_90d": money_str(int(st.adb90)),
                "assets_baseline": money_str(int(st.assets_base)), "tier": st.tier,
            },
            _STABILITY: {
                "txns_week_baseline": round(st.act_mean, 2), "days_since_activity": idle,
                "moved_to_time_deposits": money_str(st.time_shift),
                "tenure_days": (st.newest - st.since) // DAY if st.since else None,
                "complaints_90d": st.recent(st.complaints), "open_complaints": st.open_complaints,
            },
            _RISK: {
                "days_past_due": st.dpd, "overdue_amount": money_str(st.overdue),
                "penalty_interest": money_str(st.penalty),
                "worst_classification": _CLASS_NAMES[st.worst_class],
                "bounced_90d": st.recent(st.bounces),
            },
            _ACCOUNT_FLOW: {
                "inflow_30d": money_str(inflow),
                "outflow_30d": money_str(outflow),
                "interbank_outflow_7d": money_str(st.window(column=B_IB_OUT, buckets=1)),
                "interbank_outflow_30d": money_str(ib_out),
                "payroll_gap_days": round(st.payroll_gap, 1) if st.payroll_gap else None,
            },
            _PRODUCT_USAGE: {
                "active_products": products, "cancellations_90d": st.recent(st.cancels),
                "single_product": products == 1,
                "card_spend_week_baseline": money_str(int(st.card_mean)),
                "online_txns_week_baseline": round(st.online_mean, 2),
            },
        }
        watch, warning, critical = self._derived.levels  # a state's level: as ``state_level``
        states = {
            _STATE_KEY[name]: {
                "level": LEVELS[(value >= watch) + (value >= warning) + (value >= critical)],
                "score": round(value, 1), "metrics": metrics[name],
            }
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


# event type -> handler (a type without one, contact.logged, changes only the event count)
_ON_EVENT = {
    T.TRANSACTION_POSTED.value: Monitor._on_transaction,
    T.BALANCE_SNAPSHOT.value: Monitor._on_snapshot,
    T.PRODUCT_SUBSCRIBED.value: Monitor._on_subscribed,
    T.PRODUCT_CANCELLED.value: Monitor._on_cancelled,
    T.ACCOUNT_OPENED.value: Monitor._on_account_opened,
    T.ACCOUNT_CLOSED.value: Monitor._on_account_closed,
    T.LOAN_DISBURSED.value: Monitor._on_disbursed,
    T.LOAN_REPAID.value: Monitor._on_repaid,
    T.LOAN_OVERDUE.value: Monitor._on_overdue,
    T.LOAN_CLASSIFIED.value: Monitor._on_classified,
    T.PAYMENT_BOUNCED.value: Monitor._on_bounced,
    T.COMPLAINT_FILED.value: Monitor._on_complaint,
    T.COMPLAINT_RESOLVED.value: Monitor._on_resolved,
    T.CUSTOMER_PROFILE.value: Monitor._on_profile,
    T.CUSTOMER_ASSIGNED.value: Monitor._on_assigned,
}
