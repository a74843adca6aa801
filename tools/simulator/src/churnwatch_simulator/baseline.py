"""Everyday life of a loyal customer: payroll, card spend, transfers, fees, interest, loan instalments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from churnwatch_simulator.emitter import CURRENCY, DayWriter, fmt
from churnwatch_simulator.population import FEN, Customer

OPTIONAL_PRODUCTS = ("credit_card", "insurance", "fund", "treasury_bond", "online_banking")
WEALTHY = frozenset({"gold", "platinum", "diamond", "private_banking"})


@dataclass(frozen=True, slots=True)
class DayContext:
    """Which simulated day it is."""

    day: int
    date: date
    days: int

    @property
    def loan_due(self) -> bool:
        return self.date.day == 28

    @property
    def quarter_interest(self) -> bool:
        return self.date.day == 21 and self.date.month in (3, 6, 9, 12)


def everyday(
    w: DayWriter,
    c: Customer,
    ctx: DayContext,
    *,
    activity: float = 1.0,
    payroll: bool = True,
    repay: bool = True,
) -> None:
    """One ordinary day; ``activity`` scales customer-initiated activity (0 = silent)."""
    rng = w.rng
    if ctx.date.day == 1:
        w.debit(rng.randint(5, 30) * FEN, category="fee", channel="batch")
    if ctx.quarter_interest and c.demand > 0:
        w.credit(max(1, c.demand // 1600), category="interest", channel="batch")
    if c.segment == "corporate":
        _corporate_day(w, c, ctx, activity=activity, payroll=payroll)
    else:
        _retail_day(w, c, ctx, activity=activity, payroll=payroll)
    if repay and c.loan > 0 and ctx.loan_due:
        if c.demand < c.loan_installment:
            # Money comes in from the customer's account elsewhere to cover the instalment.
            w.credit(
                c.loan_installment - c.demand + rng.randint(100, 2000) * FEN,
                category="interbank_transfer",
                channel="online",
                other_bank=True,
            )
        w.repay_loan(c.loan_installment)
    if activity > 0:
        _occasional(w, c, ctx, activity=activity)


def _retail_day(
    w: DayWriter, c: Customer, ctx: DayContext, *, activity: float, payroll: bool
) -> None:
    rng = w.rng
    if payroll and c.has_payroll and ctx.date.day == c.payday:
        w.credit(
            int(c.salary * rng.uniform(0.97, 1.03)), category="payroll_credit", channel="batch"
        )
    if not c.has_payroll and rng.random() < 0.08 * activity:
        w.credit(
            int(c.salary * rng.uniform(0.2, 0.5)),
            category="interbank_transfer",
            channel="mobile",
            other_bank=True,
        )
    if activity <= 0:
        return
    spend_p = c.spend_rate * activity
    while spend_p > 0 and rng.random() < spend_p:
        amount = min(int(c.spend_size * rng.uniform(0.2, 2.3)), c.demand * 3 // 10)
        w.debit(
            amount, category="card_spend", channel=rng.choice(("pos", "pos", "mobile", "online"))
        )
        spend_p -= 0.6
    if rng.random() < 0.03 * activity:
        w.debit(
            c.demand * rng.randint(2, 8) // 100,
            category="interbank_transfer",
            channel="mobile",
            other_bank=True,
        )
    if rng.random() < 0.02 * activity:
        w.debit(c.demand * rng.randint(1, 5) // 100, category="internal_transfer", channel="mobile")
    if rng.random() < 0.01 * activity:
        w.debit(rng.randint(100, 800) * FEN, category="cash", channel="atm")


def _corporate_day(
    w: DayWriter, c: Customer, ctx: DayContext, *, activity: float, payroll: bool
) -> None:
    rng = w.rng
    if payroll and ctx.date.day == c.payday:
        w.debit(int(c.salary * rng.uniform(0.95, 1.05)), category="agency_payment", channel="batch")
    for _ in range(3):
        if rng.random() < 0.35 * activity:
            other = rng.random() < 0.5
            w.credit(
                int(c.spend_size * rng.uniform(0.5, 1.5)),
                category="interbank_transfer" if other else "agency_collection",
                channel="online" if other else "batch",
                other_bank=other,
            )
    if rng.random() < 0.7 * activity:
        other = rng.random() < 0.5
        amount = min(int(c.spend_size * rng.uniform(0.5, 2.0)), c.demand // 5)
        w.debit(
            amount,
            category="interbank_transfer" if other else "internal_transfer",
            channel="online",
            other_bank=other,
        )
    if rng.random() < 0.02 * activity:
        w.debit(
            min(int(c.spend_size * rng.uniform(0.5, 1.5)), c.demand // 5),
            category="international_settlement",
            channel="branch",
        )


def _occasional(w: DayWriter, c: Customer, ctx: DayContext, *, activity: float) -> None:
    rng = w.rng
    if c.tier in WEALTHY:
        if rng.random() < 0.01 * activity and c.demand > 0:
            amount = c.demand * rng.randint(5, 15) // 100
            if w.debit(amount, category="investment_buy", channel="mobile"):
                c.investment += amount
                c.had_accounts.add("investment")
        elif rng.random() < 0.005 * activity and c.investment > 0:
            amount = c.investment * rng.randint(10, 30) // 100
            c.investment -= amount
            w.credit(amount, category="investment_redeem", channel="mobile")
        if rng.random() < 1 / 40:
            w.emit(
                "contact.logged",
                {
                    "manager_id": c.manager_id,
                    "kind": rng.choice(("call", "visit", "meeting", "message")),
                },
            )
    if rng.random() < 0.002 * activity:
        missing = [p for p in OPTIONAL_PRODUCTS if p not in c.products]
        if missing:
            w.subscribe(rng.choice(missing))
    if c.loan == 0 and "loan" not in c.had_accounts and rng.random() < 0.0005 * activity:
        disburse_loan(w, c, ctx, amount=rng.randint(20_000, 300_000) * FEN)


def disburse_loan(w: DayWriter, c: Customer, ctx: DayContext, *, amount: int) -> None:
    """A new loan: account opened, loan.disbursed, money credited to the demand account."""
    c.had_accounts.add("loan")
    c.loan = amount
    c.loan_installment = max(100 * FEN, amount // 60)
    w.emit("account.opened", {"product_kind": "loan", "currency": CURRENCY}, account_id=c.loan_id)
    maturity = (ctx.date + timedelta(days=5 * 365)).isoformat()
    w.emit(
        "loan.disbursed",
        {
            "loan_id": c.loan_id,
            "amount": fmt(amount),
            "currency": CURRENCY,
            "maturity_date": maturity,
        },
        account_id=c.loan_id,
    )
    w.subscribe("loan")
    w.credit(amount, category="internal_transfer", channel="branch")
