"""Risk rules: loans past due and loans classified worse than before.

The config models that validate the thresholds and build these records are in
``churnwatch_state_monitor.engine_config.risk``.
"""

from __future__ import annotations

from typing import Final

from churnwatch_shared.alerts import CustomerStateName, Severity
from churnwatch_shared.events import EventType, LoanClassification
from churnwatch_state_monitor.engine.rules import Context, Finding, Rule
from churnwatch_state_monitor.engine.state import CLASS_RANK, CustomerState

LOAN_OVERDUE: Final = "risk.loan_overdue"
CLASSIFICATION_DOWNGRADE: Final = "risk.classification_downgrade"

_STATE: Final = CustomerStateName.RISK
_SEVERE_CLASSES: Final = {
    CLASS_RANK[LoanClassification.DOUBTFUL],
    CLASS_RANK[LoanClassification.LOSS],
}
_CLASS_NAMES: Final = list(CLASS_RANK)


class LoanOverdue(Rule):
    """Days past due, graded watch / warning / critical."""

    def __init__(
        self, *, enabled: bool, severity: Severity, warning_days: int, critical_days: int
    ) -> None:
        super().__init__(
            rule_id=LOAN_OVERDUE,
            code="ovd",
            state=_STATE,
            on=(EventType.LOAN_OVERDUE.value,),
            enabled=enabled,
            severity=severity,
        )
        self.warning_days = warning_days
        self.critical_days = critical_days

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        p = cx.ev.payload
        dpd: int = p.days_past_due
        if not self.enabled or dpd <= 0:
            return None
        if dpd >= self.critical_days:
            severity = Severity.CRITICAL
        elif dpd >= self.warning_days:
            severity = Severity.WARNING
        else:
            severity = self.severity
        return Finding(
            rule_id=LOAN_OVERDUE,
            state=_STATE,
            severity=severity,
            title=f"Loan {dpd} days past due",
            condition_key=f"{p.loan_id}:{severity}",
            code="loan_overdue",
            text=f"loan {p.loan_id} is {dpd} days past due",
            observed=dpd,
            baseline=self.warning_days,
            window="event",
            evidence=[cx.event_id],
        )


class ClassificationDowngrade(Rule):
    """A loan classified worse than any of the customer's loans before."""

    def __init__(self, *, enabled: bool, severity: Severity) -> None:
        super().__init__(
            rule_id=CLASSIFICATION_DOWNGRADE,
            code="cls",
            state=_STATE,
            on=(EventType.LOAN_CLASSIFIED.value,),
            enabled=enabled,
            severity=severity,
        )

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        p = cx.ev.payload
        previous = cx.previous
        rank = CLASS_RANK[p.classification]
        if not self.enabled or rank <= previous:
            return None
        severity = Severity.CRITICAL if rank in _SEVERE_CLASSES else self.severity
        return Finding(
            rule_id=CLASSIFICATION_DOWNGRADE,
            state=_STATE,
            severity=severity,
            title=f"Loan classified {p.classification}",
            condition_key=f"{p.loan_id}:{p.classification}",
            code="loan_classification_downgrade",
            text=f"loan {p.loan_id} downgraded to {p.classification}",
            observed=p.classification.value,
            baseline=_CLASS_NAMES[previous],
            window="event",
            evidence=[cx.event_id],
        )
