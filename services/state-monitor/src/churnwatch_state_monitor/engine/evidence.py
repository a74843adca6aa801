"""The details of an alert's evidence events: what, when, how much, with whom (issue 17); and
the numbers behind a churn-risk alert's reasons.

A rule cites events by id (``Finding.evidence``); the only event whose details the monitor holds
is the one being processed, so that one is described here, after the cooldown check (a finding
held back by its cooldown costs nothing). An older id (none is cited today) keeps its id only.
Amounts are the event's own, in its own currency, as a manager would find them on a statement;
a balance snapshot's amount is the financial assets the scale rules judged, in the reporting
currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from churnwatch_shared.alerts import CustomerStateName, EvidenceEvent, Reason
from churnwatch_state_monitor.engine.facts import money_str
from churnwatch_state_monitor.engine.state import CustomerState

_SNAPSHOT: Final = "balance.snapshot"
_DAY: Final = 86400
# event type -> the payload field holding the amount a manager reads (the rest have none)
_AMOUNT_FIELD: Final = {
    "transaction.posted": "amount",
    "payment.bounced": "amount",
    "loan.disbursed": "amount",
    "loan.repaid": "amount",
    "loan.overdue": "overdue_amount",
    "loan.classified": "balance",
    "standing_order.created": "amount",
}


def evidence_details(
    ids: list[str], *, ev: Any, event_id: str, st: CustomerState, reporting: str
) -> list[EvidenceEvent]:
    """Details of the cited ids that the event ``ev`` (being processed, id ``event_id``) is."""
    if ev is None or not ids:
        return []
    return [_detail(ev, st, reporting) for i in ids if i == event_id]


def _detail(ev: Any, st: CustomerState, reporting: str) -> EvidenceEvent:
    event_type: str = ev.event_type
    payload = ev.payload
    amount: Decimal | None = None
    currency: str | None = None
    if event_type == _SNAPSHOT:
        amount, currency = Decimal(money_str(st.assets)), reporting
    else:
        field = _AMOUNT_FIELD.get(event_type)
        if field is not None:
            amount, currency = getattr(payload, field), payload.currency
    return EvidenceEvent(
        event_id=ev.event_id,
        event_type=event_type,
        occurred_at=ev.occurred_at,
        amount=amount,
        currency=currency,
        counterparty_kind=getattr(payload, "counterparty_kind", None),
    )


def score_reason(
    code: str, state: CustomerStateName, points: float, *, st: CustomerState, at: int
) -> Reason:
    """One reason of the churn score with its points and, where the state holds them, the
    numbers a manager needs ("last salary 45 days ago, usually every 30 days") at time ``at``."""
    observed: float | str | None = None
    baseline: float | str | None = None
    window: str | None = None
    if code == "payroll_missing" and st.payroll_last:
        observed, baseline = (at - st.payroll_last) // _DAY, round(st.payroll_gap, 1)
        window = "payroll cycle"
    elif code == "dormant" and st.last_act:
        idle = (at - st.last_act) // _DAY
        observed, window = idle, f"{idle}d"
    elif code == "assets_below_baseline":
        observed, baseline = money_str(st.assets), money_str(int(st.assets_base))
        window = "snapshot"
    return Reason(
        code=code,
        state=state,
        text=f"{code} contributes {points:.0f}",
        observed=observed,
        baseline=baseline,
        window=window,
        weight=round(points, 1),
    )
