"""Account-flow rules: money leaving for other banks, payroll that stopped arriving.

Money leaving (issue 15) is a debit to the customer's own account at another bank or to a broker
or investment platform there, or a debit to another bank whose counterparty is unknown and is
not a recurring payee (``facts.Txn.leaving``, judged with the state's payee memory). Household
bills, insurance premiums, loan instalments, card purchases and payments to people, merchants or
the government are spending, never money leaving. Amounts are in the reporting currency.

Thresholds are in cents, seconds and shares; the config models that validate them and build
these records are in ``churnwatch_state_monitor.engine_config.account_flow``.
"""

from __future__ import annotations

from typing import Final

from churnwatch_shared.alerts import CustomerStateName, Severity
from churnwatch_shared.events import EventType
from churnwatch_state_monitor.engine.buckets import B_IB_OUT, B_WEEK, DAY
from churnwatch_state_monitor.engine.facts import money_str
from churnwatch_state_monitor.engine.rules import SILENCE, Context, Finding, Rule
from churnwatch_state_monitor.engine.state import CustomerState

LARGE_INTERBANK_OUTFLOW: Final = "account_flow.large_interbank_outflow"
INTERBANK_OUTFLOW_SHARE: Final = "account_flow.interbank_outflow_share"
PAYROLL_MISSING: Final = "account_flow.payroll_missing"

_STATE: Final = CustomerStateName.ACCOUNT_FLOW
_TRANSACTION: Final = (EventType.TRANSACTION_POSTED.value,)


def on_grid(at: int, step: int) -> int:
    """The first step boundary at or after ``at`` (epoch-aligned)."""
    return -(-at // step) * step


class LargeInterbankOutflow(Rule):
    """One debit to another bank of at least ``min_share`` of the balance before it."""

    def __init__(
        self,
        *,
        enabled: bool,
        severity: Severity,
        min_share: float,
        min_amount: int,
        critical_share: float,
    ) -> None:
        super().__init__(
            rule_id=LARGE_INTERBANK_OUTFLOW,
            code="ibo",
            state=_STATE,
            on=_TRANSACTION,
            enabled=enabled,
            severity=severity,
        )
        self.min_share = min_share
        self.min_amount = min_amount  # cents
        self.critical_share = critical_share

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        t = cx.txn
        balance = cx.balance
        if not self.enabled or t is None or not t.leaving:
            return None
        amount = t.amount
        if balance is None or balance <= 0 or amount < self.min_amount:
            return None
        share = amount / balance
        if share < self.min_share:
            return None
        severity = Severity.CRITICAL if share >= self.critical_share else self.severity
        event_id = cx.event_id
        return Finding(
            rule_id=LARGE_INTERBANK_OUTFLOW,
            state=_STATE,
            severity=severity,
            title=f"Money leaving: one transfer moved {share:.0%} of the balance",
            condition_key=event_id,
            code="interbank_outflow_large",
            text=(
                f"one transfer of {money_str(amount)} {cx.fx.reporting} to another bank (own "
                f"account, investment platform or an unknown, non-recurring payee) moved "
                f"{share:.0%} of the balance of {money_str(balance)} {cx.fx.reporting} before "
                f"it (threshold {self.min_share:.0%})"
            ),
            observed=round(share, 4),
            baseline=money_str(balance),
            window="event",
            evidence=[event_id],
        )


class InterbankOutflowShare(Rule):
    """Outflow to other banks over 7 / 30 days as a share of (balance + that outflow)."""

    def __init__(
        self,
        *,
        enabled: bool,
        severity: Severity,
        min_share_7d: float,
        min_share_30d: float,
        min_amount: int,
        min_transfers: int,
        rest_share: float,
        net_share: float,
    ) -> None:
        super().__init__(
            rule_id=INTERBANK_OUTFLOW_SHARE,
            code="ibs",
            state=_STATE,
            on=_TRANSACTION,
            enabled=enabled,
            severity=severity,
        )
        self.min_share_7d = min_share_7d
        self.min_share_30d = min_share_30d
        self.min_amount = min_amount  # cents
        self.min_transfers = min_transfers
        # read by the account-flow score (``scoring``): when the share counts in full
        self.rest_share = rest_share
        self.net_share = net_share

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        t = cx.txn
        if not self.enabled or t is None or not t.leaving:
            return None
        # one transfer that already alerts on its own should not alert twice
        if cx.has_found(LARGE_INTERBANK_OUTFLOW):
            return None
        if st.liquid is None:  # no balance known: a share cannot be judged
            return None
        _, _, out_30d, transfers, _ = st.month_flow()
        if transfers < self.min_transfers:  # a one-off purchase is not money moving away
            return None
        liquid = max(st.liquid, 0)
        for window, buckets, floor in (
            ("30d", 5, self.min_share_30d),
            ("7d", 1, self.min_share_7d),
        ):
            out = out_30d if buckets == 5 else st.window(column=B_IB_OUT, buckets=buckets)
            if out < self.min_amount:
                continue
            share = out / (out + liquid)
            if share >= floor:
                week = st.flow[-1][B_WEEK]
                return Finding(
                    rule_id=INTERBANK_OUTFLOW_SHARE,
                    state=_STATE,
                    severity=self.severity,
                    title=f"Money leaving: {share:.0%} of funds moved to other banks in {window}",
                    condition_key=f"{window}:{week}",
                    code="interbank_outflow_share",
                    text=(
                        f"{money_str(out)} {cx.fx.reporting} moved to own accounts or investment "
                        f"platforms at other banks (bills and regular payees not counted) over "
                        f"{window}: {share:.0%} of balance plus that outflow ({transfers} "
                        f"transfers in 30 days)"
                    ),
                    observed=round(share, 4),
                    baseline=floor,
                    window=window,
                    evidence=[cx.event_id],
                )
        return None


class PayrollMissing(Rule):
    """The expected payroll credit has not arrived ``grace_days`` after the usual gap (silence)."""

    def __init__(
        self, *, enabled: bool, severity: Severity, min_payrolls: int, grace_days: int, step: int
    ) -> None:
        super().__init__(
            rule_id=PAYROLL_MISSING,
            code="pay",
            state=_STATE,
            on=(SILENCE,),
            enabled=enabled,
            severity=severity,
        )
        self.min_payrolls = min_payrolls
        self.grace_days = grace_days
        self.step = step  # the silence grid (s)

    def due(self, st: CustomerState) -> int | None:
        """The grid time at which the missing payroll is judged, or None (once per episode)."""
        if not st.payroll_gap or st.payroll_seen < self.min_payrolls or not self.enabled:
            return None
        fired = st.cool.get(self.code)
        if fired is not None and fired[0] > st.payroll_last:
            return None
        expected = st.payroll_last + int((st.payroll_gap + self.grace_days) * DAY) + 1
        return on_grid(expected, self.step)

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        due = self.due(st)
        if due is None or due > cx.at:
            return None
        late = (due - st.payroll_last) // DAY
        return Finding(
            rule_id=PAYROLL_MISSING,
            state=_STATE,
            severity=self.severity,
            title="Expected payroll credit has not arrived",
            condition_key=f"after:{st.payroll_last}",
            code="payroll_missing",
            text=f"last payroll credit {late} days ago; usual gap {st.payroll_gap:.0f} days",
            observed=late,
            baseline=round(st.payroll_gap, 1),
            window="payroll cycle",
        )
