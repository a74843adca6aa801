"""The composite churn rule: an alert whenever the churn level rises (scores in ``scoring``).

Configured under ``churn`` in the rules file (levels, weights), not under ``rules``; its entry in
``churnwatch_state_monitor.engine_config.churn`` builds it from there.
"""

from __future__ import annotations

from typing import Final

from churnwatch_shared.alerts import CustomerStateName, Severity
from churnwatch_state_monitor.engine.rules import LEVEL_RISE, Context, Finding, Rule
from churnwatch_state_monitor.engine.state import CustomerState

CHURN_SCORE: Final = "churn.composite_score"

LEVELS: Final = ("normal", "watch", "warning", "critical")
LEVEL_SEVERITY: Final = (Severity.INFO, Severity.WATCH, Severity.WARNING, Severity.CRITICAL)
_STATE: Final = CustomerStateName.COMPOSITE


class CompositeScore(Rule):
    """The composite churn score reached a higher level (0..3) than before this event."""

    def __init__(self, *, watch: float, warning: float, critical: float) -> None:
        super().__init__(
            rule_id=CHURN_SCORE,
            code="churn",
            state=_STATE,
            on=(LEVEL_RISE,),
            enabled=True,
            severity=Severity.WATCH,
        )
        self.floors = (0.0, watch, warning, critical)  # the score at which each level begins

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        level = st.level
        name = LEVELS[level]
        top = ", ".join([reason[0] for reason in cx.reasons]) or "composite"
        return Finding(
            rule_id=CHURN_SCORE,
            state=_STATE,
            severity=LEVEL_SEVERITY[level],
            title=f"Churn risk {name} (score {cx.churn:.0f})",
            condition_key=churn_key(level, cx.at),
            code=f"churn_{name}",
            text=f"composite churn score {cx.churn:.0f}; top reasons: {top}",
            observed=cx.churn,
            baseline=self.floors[level],
            window="90d",
            evidence=[cx.event_id] if cx.event_id else [],
        )


def churn_key(level: int, at: int) -> str:
    """The churn-risk alert's condition key: its level and event time (derivable from the
    state's ``churn_alert`` mark, so the record keeps no alert id)."""
    return f"{LEVELS[level]}:{at}"


def churn_mark(condition_key: str) -> int:
    """The state's mark of a churn-risk alert (its time x 4 + its level) from its key."""
    name, _, at = condition_key.partition(":")
    return int(at) * 4 + LEVELS.index(name)


def marked_key(mark: int) -> str:
    """The condition key of the churn-risk alert marked ``mark`` (see ``churn_mark``)."""
    return churn_key(mark & 3, mark >> 2)
