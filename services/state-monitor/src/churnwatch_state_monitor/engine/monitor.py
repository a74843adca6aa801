"""The monitor's one code path: event in, updated state + alerts + snapshot out. No Kafka here.

Both the Faust agent and the offline backtest call ``Monitor.process``; it is deterministic given the
state and the event (alert ids, cooldowns and windows all use event time), so a replay after a crash
re-derives the same alert ids and the duplicate filter keeps state from changing twice.
"""

from __future__ import annotations

from collections.abc import Callable
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
from churnwatch_shared.fx import FxTable
from churnwatch_state_monitor.engine import silence
from churnwatch_state_monitor.engine.buckets import DAY
from churnwatch_state_monitor.engine.churn import CHURN_SCORE, churn_mark, marked_key
from churnwatch_state_monitor.engine.evidence import evidence_details, score_reason
from churnwatch_state_monitor.engine.facts import Fx, epoch_seconds, event_fingerprint
from churnwatch_state_monitor.engine.rules import Context, Finding
from churnwatch_state_monitor.engine.scoring import Scores, churn_level, priority, score_with
from churnwatch_state_monitor.engine.snapshot import snapshot_dict
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.ruleset import RuleSet, limits_of

_COMPOSITE: Final = CustomerStateName.COMPOSITE
_CHURN_RISK: Final = AlertKind.CHURN_RISK
_ANOMALY: Final = AlertKind.ANOMALY


class Status(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # same event_id seen recently (a producer re-sent it)
    REDELIVERED = "redelivered"  # source offset already applied (consumer restart/rebalance)
    LATE = "late"
    # customer.erasure_requested: the caller deletes the customer's state (worker/erasure.py)
    ERASED = "erased"


_APPLIED: Final = Status.APPLIED
_DUPLICATE: Final = Status.DUPLICATE
_REDELIVERED: Final = Status.REDELIVERED
_LATE: Final = Status.LATE
_ERASED: Final = Status.ERASED
_ERASURE: Final = EventType.CUSTOMER_ERASURE_REQUESTED.value


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
    """Applies events to customer states and evaluates the rule set (one thread at a time)."""

    def __init__(self, *, ruleset: RuleSet, fx: FxTable | None = None) -> None:
        self.rs = ruleset
        # amounts into the rule set's reporting currency: its own rates (rules file ``fx``), or
        # a table given here (the backtest's, e.g. the simulator's truth file) in that currency
        table = ruleset.fx.table() if fx is None else fx
        if table.reporting != ruleset.fx.reporting:
            raise ValueError(
                f"the FX table converts into {table.reporting}, but the rule set's thresholds are "
                f"in {ruleset.fx.reporting} (rules file fx.reporting)"
            )
        self.fx = Fx(table=table, reporting=table.reporting)
        lim = self._limits = limits_of(ruleset)
        self.registry = registry = lim.registry
        self._routes = registry.routes
        self._week_closed = registry.week_closed
        self._level_rise = registry.level_rise
        self._cool_key = registry.code_of
        # refilled per event (and per silence judgement): no allocation on the hot path
        self._cx = Context()
        self._cx.alpha = lim.alpha
        self._cx.fx = self.fx
        self._scx = Context()
        self._scx.fx = self.fx
        # set by a loaded churn model (model/levels.py): it then owns the churn level and the
        # churn-risk alerts, judged at these points (customer, state before the event, as-of):
        # a customer's first event of each ``checkpoint_every`` period of the epoch grid (UTC)
        # and each silence due, i.e. event time, not batches
        self.checkpoint: Callable[[str, CustomerState, int], None] | None = None
        self.checkpoint_every: int = DAY

    def process(
        self, state: CustomerState | None, event: Any, *, now: datetime, offset: int | None = None
    ) -> Outcome:
        """Apply one validated event (from source ``offset`` when known) to the customer's state."""
        if event.event_type == _ERASURE:  # no alert, no snapshot: the state goes
            return Outcome(_ERASED)
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
        checkpoint = self.checkpoint
        if checkpoint is not None and st.events:
            every = self.checkpoint_every
            if at // every > st.newest // every:
                checkpoint(customer_id, st, at - at % every)
        cx = self._cx
        cx.start(st, event, event_id, at)
        st.newest = max(st.newest, at)
        findings = cx.found
        route = self._routes.get(event.event_type)
        if route is not None:  # an event type without a route only counts as an event
            update = route.update
            if update is not None:
                update(st, cx)
            for rule in route.rules:
                f = rule.judge(st, cx)
                if f is not None:
                    findings.append(f)
        st.remember(fingerprint, cap=lim.dedup_window)
        st.events += 1
        if offset is not None:
            st.off = offset
        if st.folded > cx.folded:  # a week closed: the weekly rules have something to judge
            for rule in self._week_closed:
                f = rule.judge(st, cx)
                if f is not None:
                    findings.append(f)
        scores = score_with(st, lim)
        old_level = st.level
        if self._level(st, scores):
            cx.churn, cx.reasons = scores.churn, scores.reasons
            for rule in self._level_rise:
                f = rule.judge(st, cx)
                if f is not None:
                    findings.append(f)
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
        customer_id: str,
        now: datetime | None = None,
    ) -> list[Alert]:
        lim = self._limits
        due = silence.next_due(st, lim)
        alerts: list[Alert] = []
        scores: Scores | None = None
        cx = self._scx
        while due is not None and due <= at:  # dormancy and payroll may fall on different days
            occurred = datetime.fromtimestamp(due, UTC)
            cx.at = due
            found = silence.findings(st, cx=cx, lim=lim)
            # the score moves with time: a refresh due now judges the silent customer at ``due``
            refresh = bool(lim.refresh) and due >= silence.refresh_due(st, lim)
            if not found and not refresh:
                break
            checkpoint = self.checkpoint
            if checkpoint is not None:
                checkpoint(customer_id, st, due)
            if refresh:
                st.scored = due
                scores = score_with(st, lim)
                rise = self._level(st, scores)
                if rise:
                    cx.event_id = ""
                    cx.churn, cx.reasons = scores.churn, scores.reasons
                    for rule in self._level_rise:
                        f = rule.judge(st, cx)
                        if f is not None:
                            found.append(f)
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
                    st.cool[self._cool_key[f.rule_id]][0] = due
            due = silence.next_due(st, lim)
        return alerts

    def _level(self, st: CustomerState, scores: Scores) -> bool:
        """Take the new score and level; whether the level rose. Back at normal, the churn-risk
        episode ends (the next rise opens a new one)."""
        st.churn = scores.churn
        if self.checkpoint is not None:  # a churn model owns the level (model/levels.py)
            return False
        old_level = st.level
        st.level = level = churn_level(scores, old_level, self._limits)
        if level == 0 and st.churn_alert:
            st.churn_alert = 0
        return level > old_level

    def _passes_cooldown(self, st: CustomerState, f: Finding, at: int) -> bool:
        rank = SEVERITY_RANK[f.severity]
        key = self._cool_key[f.rule_id]
        last = st.cool.get(key)
        if last is not None and at - last[0] < self._limits.cooldown and rank <= last[1]:
            return False
        st.cool[key] = [at, rank]
        return True

    # --- outputs ----------------------------------------------------------------------------

    def _alert(
        self,
        st: CustomerState,
        f: Finding,
        customer_id: str,
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
        supersedes: str | None = None
        if f.rule_id == CHURN_SCORE:
            churn_score = st.churn
            if st.churn_alert:  # one open churn-risk alert per episode: this one updates it
                supersedes = alert_id_for(
                    customer_id=customer_id,
                    rule_id=CHURN_SCORE,
                    condition_key=marked_key(st.churn_alert),
                )
            at = epoch_seconds(occurred_at)
            reasons = [
                score_reason(code, state, points, st=st, at=at)
                for code, state, points in scores.reasons
            ] or reasons
        alert_id = alert_id_for(
            customer_id=customer_id, rule_id=f.rule_id, condition_key=f.condition_key
        )
        if f.rule_id == CHURN_SCORE:
            st.churn_alert = churn_mark(f.condition_key)
        return Alert(
            alert_id=alert_id,
            supersedes=supersedes,
            kind=_CHURN_RISK if f.rule_id == CHURN_SCORE else _ANOMALY,
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
            # what, when, how much: the cited event is the one being processed (``self._cx``)
            evidence=evidence_details(
                f.evidence,
                ev=self._cx.ev,
                event_id=self._cx.event_id,
                st=st,
                reporting=self.fx.reporting,
            ),
            ruleset_version=self._limits.version,
            occurred_at=occurred_at,
            detected_at=now,
            tier=st.tier,
            segment=st.segment,
            branch_id=st.branch,
        )

    def snapshot_dict(self, customer_id: str, st: CustomerState, scores: Scores) -> dict[str, Any]:
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
