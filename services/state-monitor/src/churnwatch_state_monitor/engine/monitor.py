"""The monitor's one code path: event in, updated state + alerts + snapshot out. No Kafka here.

Both the Faust agent and the offline backtest call ``Monitor.process``; it is deterministic given the
state and the event (alert ids, cooldowns and windows all use event time), so a replay after a crash
re-derives the same alert ids and the duplicate filter keeps state from changing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

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
from churnwatch_state_monitor.engine import rules, silence
from churnwatch_state_monitor.engine.facts import Txn, cents, epoch_seconds, event_fingerprint
from churnwatch_state_monitor.engine.limits import limits_of
from churnwatch_state_monitor.engine.rules import Before, Finding
from churnwatch_state_monitor.engine.scoring import (
    LEVEL_SEVERITY,
    LEVELS,
    Scores,
    next_level,
    priority,
    score_with,
)
from churnwatch_state_monitor.engine.snapshot import snapshot_dict
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.ruleset import RuleSet

# Short, stable keys for the cooldown memory (rule ids would dominate the record's size).
_COOL_KEY: Final = rules.COOLDOWN_CODE
_COMPOSITE: Final = CustomerStateName.COMPOSITE
_CHURN_RISK: Final = AlertKind.CHURN_RISK
_ANOMALY: Final = AlertKind.ANOMALY
# event types as plain strings (an event's ``event_type`` is its literal value)
_TRANSACTION: Final = EventType.TRANSACTION_POSTED.value
_SNAPSHOT: Final = EventType.BALANCE_SNAPSHOT.value
_SUBSCRIBED: Final = EventType.PRODUCT_SUBSCRIBED.value
_CANCELLED: Final = EventType.PRODUCT_CANCELLED.value
_OPENED: Final = EventType.ACCOUNT_OPENED.value
_CLOSED: Final = EventType.ACCOUNT_CLOSED.value
_DISBURSED: Final = EventType.LOAN_DISBURSED.value
_REPAID: Final = EventType.LOAN_REPAID.value
_OVERDUE: Final = EventType.LOAN_OVERDUE.value
_CLASSIFIED: Final = EventType.LOAN_CLASSIFIED.value
_BOUNCED: Final = EventType.PAYMENT_BOUNCED.value
_COMPLAINT: Final = EventType.COMPLAINT_FILED.value
_RESOLVED: Final = EventType.COMPLAINT_RESOLVED.value
_PROFILE: Final = EventType.CUSTOMER_PROFILE.value
_ASSIGNED: Final = EventType.CUSTOMER_ASSIGNED.value


class Status(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # same event_id seen recently (a producer re-sent it)
    REDELIVERED = "redelivered"  # source offset already applied (consumer restart/rebalance)
    LATE = "late"


_APPLIED: Final = Status.APPLIED
_DUPLICATE: Final = Status.DUPLICATE
_REDELIVERED: Final = Status.REDELIVERED
_LATE: Final = Status.LATE


class Outcome:
    """What processing one event produced.

    ``state`` is the updated record when APPLIED, the unchanged current record when REDELIVERED
    (so the worker can re-publish its snapshot), and None otherwise.
    """

    __slots__ = ("alerts", "snapshot", "state", "status")

    def __init__(
        self,
        status: Status,
        state: CustomerState | None = None,
        alerts: list[Alert] | None = None,
        snapshot: bytes | None = None,
    ) -> None:
        self.status = status
        self.state = state
        self.alerts: list[Alert] = [] if alerts is None else alerts
        self.snapshot = snapshot

    def __repr__(self) -> str:
        return (
            f"Outcome(status={self.status!r}, state={self.state!r}, alerts={self.alerts!r}, "
            f"snapshot={self.snapshot!r})"
        )


class Monitor:
    """Applies events to customer states and evaluates the rule set."""

    def __init__(self, *, ruleset: RuleSet) -> None:
        self.rs = ruleset
        self._limits = limits_of(ruleset)

    def process(
        self, state: CustomerState | None, event: Any, *, now: datetime, offset: int | None = None
    ) -> Outcome:
        """Apply one validated event (from source ``offset`` when known) to the customer's state."""
        st = state if state is not None else CustomerState()
        if offset is not None and offset <= st.off:
            return Outcome(_REDELIVERED, st)
        event_id: str = event.event_id
        fingerprint = event_fingerprint(event_id)
        if st.has_seen(fingerprint):
            return Outcome(_DUPLICATE)
        occurred_at: datetime = event.occurred_at
        at = epoch_seconds(occurred_at)
        lim = self._limits
        if st.events and at < st.newest - lim.lateness:
            return Outcome(_LATE)
        customer_id: str = event.customer_id
        # silence rules due before this event are judged first, at their own grid time
        due = silence.next_due(st, lim)
        alerts = (
            self._silence(st, at=at, customer_id=customer_id, now=now)
            if due is not None and due <= at
            else []
        )
        before = Before(st.act_mean, st.weeks, st.folded, st.last_act)
        st.newest = max(st.newest, at)
        found = self._apply(st, event, event_id, at, before)  # state update + event-driven rule
        findings = [] if found is None else [found]
        st.remember(fingerprint, cap=lim.dedup_window)
        st.events += 1
        if offset is not None:
            st.off = offset
        if st.folded > before.folded:  # a week closed: the weekly rules have something to judge
            findings.extend(rules.periodic(st, event_id, before, lim))
        scores = score_with(st, lim)
        old_level = st.level
        st.churn = scores.churn
        st.level = next_level(scores.churn, old_level, lim)
        if st.level > old_level:
            findings.append(self._churn_finding(st, event_id, scores))
        if findings:
            for f in findings:
                if self._passes_cooldown(st, f, at):
                    alerts.append(self._alert(st, f, customer_id, occurred_at, now, scores))
        publish = (
            bool(alerts)
            or st.level != old_level
            or st.events == 1
            or st.events % lim.snapshot_every == 0
        )
        snapshot = self.snapshot_bytes(customer_id, st, scores) if publish else None
        return Outcome(_APPLIED, st, alerts, snapshot)

    def scan(
        self, state: CustomerState, customer_id: str, *, watermark: int, now: datetime | None = None
    ) -> list[Alert]:
        """Silence rules due by the partition's event-time ``watermark`` (the record is updated in
        place when an alert fires; an empty list means nothing to write)."""
        return self._silence(state, at=watermark, customer_id=customer_id, now=now)

    def schedule_silence(
        self,
        indexes: dict[int, silence.SilenceIndex],
        dirty: dict[str, int],
        states: dict[str, CustomerState],
    ) -> None:
        """``silence.schedule_batch`` with the rule set's limits."""
        silence.schedule_batch(indexes, dirty, states, self._limits)

    def silence_due(self, state: CustomerState) -> int | None:
        """The event time at which ``scan`` would next find something for this record."""
        return silence.next_due(state, self._limits)

    def _silence(
        self,
        st: CustomerState,
        *,
        at: int,
        customer_id: str | None = None,
        now: datetime | None = None,
    ) -> list[Alert]:
        lim = self._limits
        due = silence.next_due(st, lim)
        alerts: list[Alert] = []
        scores: Scores | None = None
        while due is not None and due <= at:  # dormancy and payroll may fall on different days
            occurred = datetime.fromtimestamp(due, UTC)
            found = silence.findings(st, at=due, lim=lim)
            if not found:
                break
            for f in found:
                if self._passes_cooldown(st, f, due):
                    if scores is None:
                        scores = score_with(st, lim)
                    alerts.append(
                        self._alert(
                            st,
                            f,
                            customer_id,
                            occurred,
                            now if now is not None else occurred,
                            scores,
                        )
                    )
                else:  # inside another alert's cooldown: this episode is not alerted again
                    st.cool[_COOL_KEY[f.rule_id]][0] = due
            due = silence.next_due(st, lim)
        return alerts

    # --- state updates and event-driven rules -----------------------------------------------

    def _apply(
        self, st: CustomerState, ev: Any, event_id: str, at: int, before: Before
    ) -> Finding | None:
        """Update the state from one event; return its event-driven rule's finding, if any."""
        kind: str = ev.event_type
        p = ev.payload
        lim = self._limits
        if kind == _TRANSACTION:
            t = Txn(p)
            before.balance = st.apply_transaction(t, at, alpha=lim.alpha)
            if not t.to_other_bank:
                return None  # both rules judge debits to other banks only
            # one transfer that already alerts on its own should not alert twice
            return rules.large_interbank_outflow(
                t, event_id, before, lim
            ) or rules.interbank_outflow_share(st, t, event_id, lim)
        if kind == _SNAPSHOT:
            st.apply_snapshot(p, at, alpha=lim.alpha)
            return rules.tier_band(st, event_id, lim)
        if kind == _SUBSCRIBED:
            st.apply_product(p.product, subscribed=True, at=at)
            st.last_act = max(st.last_act, at)
        elif kind == _CANCELLED:
            st.apply_product(p.product, subscribed=False, at=at)
            return rules.product_cancelled(st, ev, self.rs)
        elif kind == _OPENED:
            st.accounts += 1
            st.last_act = max(st.last_act, at)
        elif kind == _CLOSED:
            st.accounts = max(0, st.accounts - 1)
            st.apply_account_closed(at)
        elif kind == _DISBURSED:
            st.loans += cents(p.amount)
        elif kind == _REPAID:
            if p.outstanding_after is not None and p.outstanding_after == 0:
                st.dpd = 0
                st.overdue = 0
        elif kind == _OVERDUE:
            st.dpd, st.overdue = p.days_past_due, cents(p.overdue_amount)
            if p.penalty_interest is not None:
                st.penalty = cents(p.penalty_interest)
            return rules.loan_overdue(ev, self.rs)
        elif kind == _CLASSIFIED:
            previous = st.apply_classification(p.classification)
            return rules.classification_downgrade(ev, previous, self.rs)
        elif kind == _BOUNCED:
            st.apply_bounce(at)
        elif kind == _COMPLAINT:
            st.apply_complaint(at)
            return rules.complaint_filed(ev, self.rs)
        elif kind == _RESOLVED:
            st.open_complaints = max(0, st.open_complaints - 1)
        elif kind == _PROFILE:
            st.tier, st.segment, st.branch = p.tier.value, p.segment.value, p.branch_id
            since = p.customer_since
            if since is not None:
                st.since = int(datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp())
            return rules.tier_band(st, event_id, lim)
        elif kind == _ASSIGNED and p.branch_id:
            st.branch = p.branch_id
        return None  # contact.logged changes only the event count

    def _passes_cooldown(self, st: CustomerState, f: Finding, at: int) -> bool:
        rank = SEVERITY_RANK[f.severity]
        key = _COOL_KEY[f.rule_id]
        last = st.cool.get(key)
        if last is not None and at - last[0] < self._limits.cooldown and rank <= last[1]:
            return False
        st.cool[key] = [at, rank]
        return True

    def _churn_finding(self, st: CustomerState, event_id: str, scores: Scores) -> Finding:
        name = LEVELS[st.level]
        top = ", ".join([reason[0] for reason in scores.reasons]) or "composite"
        return Finding(
            rule_id=rules.CHURN_SCORE,
            state=_COMPOSITE,
            severity=LEVEL_SEVERITY[st.level],
            title=f"Churn risk {name} (score {scores.churn:.0f})",
            condition_key=f"{name}:{event_id}",
            code=f"churn_{name}",
            text=f"composite churn score {scores.churn:.0f}; top reasons: {top}",
            observed=scores.churn,
            baseline=self._limits.level_floor(st.level),
            window="90d",
            evidence=[event_id],
        )

    # --- outputs ----------------------------------------------------------------------------

    def _alert(
        self,
        st: CustomerState,
        f: Finding,
        customer_id: str | None,
        occurred_at: datetime,
        now: datetime,
        scores: Scores,
    ) -> Alert:
        reasons = [
            Reason(
                code=f.code,
                state=f.state,
                text=f.text,
                observed=f.observed,
                baseline=f.baseline,
                window=f.window,
            )
        ]
        churn_score = None
        if f.rule_id == rules.CHURN_SCORE:
            churn_score = st.churn
            reasons = [
                Reason(
                    code=code,
                    state=state,
                    text=f"{code} contributes {points:.0f}",
                    weight=round(points, 1),
                )
                for code, state, points in scores.reasons
            ] or reasons
        return Alert(
            alert_id=alert_id_for(
                customer_id=customer_id, rule_id=f.rule_id, condition_key=f.condition_key
            ),
            kind=_CHURN_RISK if f.rule_id == rules.CHURN_SCORE else _ANOMALY,
            customer_id=customer_id,
            state=f.state,
            rule_id=f.rule_id,
            severity=f.severity,
            priority=priority(severity=f.severity, st=st),
            title=f.title,
            reasons=reasons,
            observed=f.observed,
            baseline=f.baseline,
            window=f.window,
            churn_score=churn_score,
            evidence_event_ids=f.evidence,
            ruleset_version=self._limits.version,
            occurred_at=occurred_at,
            detected_at=now,
            tier=st.tier,
            segment=st.segment,
            branch_id=st.branch,
        )

    def snapshot_dict(self, customer_id: str, st: CustomerState, scores: Scores) -> dict:
        """The CustomerStateSnapshot as plain data (built without pydantic on the hot path)."""
        return snapshot_dict(customer_id, st, scores, self._limits)

    def snapshot_bytes(
        self, customer_id: str, st: CustomerState, scores: Scores | None = None
    ) -> bytes:
        """The snapshot as CUSTOMER_STATE record bytes."""
        if scores is None:
            scores = score_with(st, self._limits)
        # an exact-size copy: orjson's own result sits in a several-KiB allocation, held until
        # the batch is delivered (as for ``CustomerState.encode``)
        return bytes(memoryview(orjson.dumps(snapshot_dict(customer_id, st, scores, self._limits))))
