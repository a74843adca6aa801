"""The rule contract: every rule is one object holding its thresholds, judged by one method.

A rule (``Rule``) knows its id (stamped on alerts, the key in ``rules.yaml``), its stable
cooldown code (persisted in state records), its state and the triggers it runs on: event types,
or ``WEEK_CLOSED`` / ``SILENCE`` / ``LEVEL_RISE``. ``judge(st, cx)`` reads the customer's state
(already updated by the event) and the ``Context`` and may return a ``Finding``; the engine turns
a finding into an ``Alert`` after the cooldown check. Rules live in one module per state
(``scale``, ``stability``, ``risk``, ``account_flow``, ``product_usage``; the composite in
``churn``); their config models in ``churnwatch_state_monitor.engine_config``; the table that
routes events to them in ``registry``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from mypy_extensions import mypyc_attr

from churnwatch_shared.alerts import CustomerStateName, Severity
from churnwatch_state_monitor.engine.facts import Fx, Txn
from churnwatch_state_monitor.engine.state import CustomerState

# triggers that are not event types
WEEK_CLOSED: Final = "week.closed"  # the event closed at least one week of the activity buckets
SILENCE: Final = "silence"  # judged at a silence due time (see ``silence``), not on an event
LEVEL_RISE: Final = "churn.level_rise"  # the composite churn level rose with this event


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
    # ids of the events behind the finding; the alert gets their details (type, date, amount,
    # counterparty) from ``evidence.evidence_details``
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


class Context:
    """What a rule reads besides the state: the event, and the state just before it was applied.

    One per ``Monitor``, refilled for every event (no allocation per event); a Monitor is used
    by one thread at a time, like the states it updates.
    """

    def __init__(self) -> None:
        self.ev: Any = None  # the validated event (None when judging silence)
        self.event_id = ""
        self.at = 0  # event time, epoch s (silence: the grid time judged)
        self.alpha = 0.2  # the rule set's EWMA factor, for state updates
        # the rule set's conversion into its reporting currency, for state updates and texts
        self.fx = Fx(table=None, reporting="CNY")
        # the state just before the event
        self.act_mean = 0.0
        self.weeks = 0
        self.folded = 0
        self.last_act = 0
        self.balance: int | None = None  # balance before a transaction, when known
        self.txn: Txn | None = None  # the transaction's facts (transaction.posted only)
        self.previous = 0  # worst loan classification rank before (loan.classified only)
        # the composite (LEVEL_RISE only)
        self.churn = 0.0
        self.reasons: list[tuple[str, CustomerStateName, float]] = []
        # findings of this event's rules so far, in run order
        self.found: list[Finding] = []

    def start(self, st: CustomerState, ev: Any, event_id: str, at: int) -> None:
        """Refill for one event about to be applied to ``st``."""
        self.ev, self.event_id, self.at = ev, event_id, at
        self.act_mean, self.weeks, self.folded, self.last_act = (
            st.act_mean,
            st.weeks,
            st.folded,
            st.last_act,
        )
        self.balance, self.txn, self.previous = None, None, 0
        self.found.clear()

    def has_found(self, rule_id: str) -> bool:
        """Whether a rule run earlier for this event already found something."""
        for f in self.found:  # noqa: SIM110 (compiled, a loop beats any() over a generator)
            if f.rule_id == rule_id:
                return True
        return False


@mypyc_attr(allow_interpreted_subclasses=True)  # tests register rules written in plain Python
class Rule:
    """One rule: identity, triggers and thresholds as attributes, ``judge`` as its function."""

    def __init__(
        self,
        *,
        rule_id: str,
        code: str,
        state: CustomerStateName,
        on: tuple[str, ...],
        enabled: bool,
        severity: Severity,
    ) -> None:
        self.rule_id = rule_id
        # the key of the rule's cooldown memory in stored state records: never changed or reused
        # (a renamed rule keeps its code); short, as every record carries the codes that fired
        self.code = code
        self.state = state
        self.on = on
        self.enabled = enabled
        self.severity = severity

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        """The rule's finding for ``st`` after the event in ``cx``, or None."""
        raise NotImplementedError(f"rule {self.rule_id} has no judge()")
