"""Churn patterns, credit deterioration and noisy-but-loyal behaviour layered on the everyday day."""

from __future__ import annotations

from churnwatch_simulator.baseline import DayContext, everyday
from churnwatch_simulator.emitter import CURRENCY, DayWriter, fmt
from churnwatch_simulator.plans import Pattern
from churnwatch_simulator.population import FEN, Customer

# Products a drifting customer gives up first; the core account goes last (with the relationship).
ATTRITION_ORDER = (
    "wealth_product",
    "fund",
    "treasury_bond",
    "securities_link",
    "insurance",
    "credit_card",
    "time_deposit",
    "payroll_agency",
    "mobile_banking",
    "online_banking",
    "loan",
    "debit_card",
)
COMPLAINT_CATEGORIES = (
    "fees",
    "service_delay",
    "staff_attitude",
    "wealth_product_loss",
    "app_outage",
)
# Five-category classification by days past due.
CLASSIFICATION_BY_DPD = ((180, "doubtful"), (90, "substandard"), (30, "special_mention"))
SLIDE_TARGET = 4_500_000 * FEN


def live_day(w: DayWriter, c: Customer, ctx: DayContext) -> None:
    """Write one simulated day for a customer according to its plan."""
    plan = c.plan
    d = ctx.day
    if plan.churn_day is not None and d >= plan.churn_day:
        exit_relationship(w, c, ctx)
        return
    pattern = plan.pattern
    if pattern is Pattern.NORMAL or (
        plan.drift_start is None and pattern is not Pattern.NOISY_LOYAL
    ):
        everyday(w, c, ctx)
        return
    if pattern is Pattern.NOISY_LOYAL:
        _noisy_loyal(w, c, ctx)
        return
    start = plan.drift_start
    assert start is not None
    if d < start:
        everyday(w, c, ctx)
        return
    since = d - start
    span = max(1, (plan.churn_day or ctx.days) - start)
    progress = since / span
    if pattern is Pattern.INTERBANK_OUTFLOW:
        _interbank_outflow(w, c, ctx, since=since, span=span)
    elif pattern is Pattern.PAYROLL_STOP:
        if since == min(12, span - 1):
            w.cancel("payroll_agency", reason="salary account moved")
        everyday(w, c, ctx, activity=max(0.3, 1.0 - progress), payroll=False)
    elif pattern is Pattern.PRODUCT_ATTRITION:
        _product_attrition(w, c, ctx, since=since, span=span, progress=progress)
    elif pattern is Pattern.ACTIVITY_FADE:
        activity = max(0.0, 1.0 - since / max(1.0, 0.6 * span))
        everyday(w, c, ctx, activity=activity, payroll=activity > 0.3)
    elif pattern is Pattern.COMPLAINT_SILENCE:
        _complaint_silence(w, c, ctx, since=since)
    elif pattern is Pattern.PRIVATE_BANKING_SLIDE:
        _private_banking_slide(w, c, ctx, since=since, span=span)
    elif pattern is Pattern.CREDIT_DETERIORATION:
        _credit_deterioration(w, c, ctx, since=since)


def _interbank_outflow(
    w: DayWriter, c: Customer, ctx: DayContext, *, since: int, span: int
) -> None:
    rng = w.rng
    everyday(w, c, ctx, activity=0.7)
    if since == span // 2:
        _consolidate(w, c)
    if ctx.day == c.plan.marks.get("big_outflow_day"):
        # Rounded up so the transfer really is at least the drawn share of the balance.
        w.debit(
            -(-c.demand * rng.randint(60, 90) // 100),
            category="interbank_transfer",
            channel="online",
            other_bank=True,
        )
    elif since % 6 == 0:
        w.debit(
            c.demand * rng.randint(10, 25) // 100,
            category="interbank_transfer",
            channel=rng.choice(("online", "mobile")),
            other_bank=True,
        )


def _product_attrition(
    w: DayWriter, c: Customer, ctx: DayContext, *, since: int, span: int, progress: float
) -> None:
    everyday(w, c, ctx, activity=max(0.3, 1.0 - 0.6 * progress))
    cancellable = [
        p for p in ATTRITION_ORDER if p in c.products and p not in ("debit_card", "loan")
    ]
    every = max(1, span // (len(c.products) + 1))
    if cancellable and since % every == 0:
        product = cancellable[0]
        w.cancel(
            product, reason=w.rng.choice(("better offer elsewhere", "no longer needed", "fees"))
        )
        if product in ("wealth_product", "fund") and c.investment > 0:
            amount, c.investment = c.investment, 0
            w.credit(amount, category="investment_redeem", channel="mobile")
        if product == "time_deposit" and c.time_deposit > 0:
            amount, c.time_deposit = c.time_deposit, 0
            w.credit(amount, category="internal_transfer", channel="branch")
            w.close_account("time_deposit", reason="product cancelled")


def _complaint_silence(w: DayWriter, c: Customer, ctx: DayContext, *, since: int) -> None:
    rng = w.rng
    if since == 0:
        c.complaints += 1
        everyday(w, c, ctx, activity=0.5)
        w.emit(
            "complaint.filed",
            {
                "complaint_id": f"{c.customer_id}-CMP{c.complaints}",
                "category": rng.choice(COMPLAINT_CATEGORIES),
                "severity": rng.choice(("medium", "high", "high")),
                "channel": rng.choice(("branch", "online", "mobile")),
            },
        )
        return
    if since == 5 and rng.random() < 0.6:
        w.emit(
            "complaint.resolved",
            {"complaint_id": f"{c.customer_id}-CMP{c.complaints}", "outcome": "unsatisfied"},
        )
    # Silence: the customer stops using the bank; money drains slowly to another bank.
    everyday(w, c, ctx, activity=0.03)
    if since % 10 == 0:
        w.debit(
            c.demand * rng.randint(10, 20) // 100,
            category="interbank_transfer",
            channel="online",
            other_bank=True,
        )


def _private_banking_slide(
    w: DayWriter, c: Customer, ctx: DayContext, *, since: int, span: int
) -> None:
    everyday(w, c, ctx, activity=0.8)
    marks = c.plan.marks
    if since == 0:
        steps = max(1, (span - 1) // 5)
        marks["slide_step"] = max(FEN, (c.financial_assets - SLIDE_TARGET) // steps)
    if since % 5 != 0:
        return
    step = marks["slide_step"]
    # Keep every single transfer well below half the balance: the slide is gradual.
    shortfall = step * 5 // 2 - c.demand
    if shortfall > 0 and c.investment > 0:
        amount = min(shortfall, c.investment)
        c.investment -= amount
        w.credit(amount, category="investment_redeem", channel="mobile")
        shortfall -= amount
    if shortfall > 0 and c.time_deposit > 0:
        amount = min(shortfall, c.time_deposit)
        c.time_deposit -= amount
        w.credit(amount, category="internal_transfer", channel="branch")
    w.debit(
        min(step, c.demand * 2 // 5),
        category="interbank_transfer",
        channel="online",
        other_bank=True,
    )


def _credit_deterioration(w: DayWriter, c: Customer, ctx: DayContext, *, since: int) -> None:
    rng = w.rng
    everyday(w, c, ctx, activity=0.6, repay=False)
    if c.loan <= 0:
        return
    if since > 0 and since % 7 == 0:
        missed = since // 30 + 1
        overdue = min(c.loan, missed * c.loan_installment)
        w.emit(
            "loan.overdue",
            {
                "loan_id": c.loan_id,
                "days_past_due": since,
                "overdue_amount": fmt(overdue),
                "currency": CURRENCY,
                "penalty_interest": fmt(overdue * since // 2000),
            },
            account_id=c.loan_id,
        )
    for threshold, grade in CLASSIFICATION_BY_DPD:
        if since >= threshold:
            if c.classification != grade:
                c.classification = grade
                w.emit(
                    "loan.classified",
                    {
                        "loan_id": c.loan_id,
                        "classification": grade,
                        "balance": fmt(c.loan),
                        "currency": CURRENCY,
                    },
                    account_id=c.loan_id,
                )
            break
    if ctx.loan_due and rng.random() < 0.5:
        w.emit(
            "payment.bounced",
            {
                "amount": fmt(c.loan_installment),
                "currency": CURRENCY,
                "reason": "insufficient funds",
            },
        )


def _noisy_loyal(w: DayWriter, c: Customer, ctx: DayContext) -> None:
    rng = w.rng
    marks = c.plan.marks
    d = ctx.day
    on_holiday = marks["holiday_start"] <= d < marks["holiday_end"]
    everyday(w, c, ctx, activity=0.0 if on_holiday else 1.0)
    if d == marks["bonus_day"]:
        if c.segment == "corporate":
            w.credit(
                c.spend_size * rng.randint(8, 15), category="agency_collection", channel="batch"
            )
        else:
            w.credit(c.salary * rng.randint(2, 5), category="payroll_credit", channel="batch")
    if d == marks["purchase_day"] and not on_holiday:
        share = rng.randint(30, 55)
        if c.segment == "retail" and rng.random() < 0.5:
            w.debit(c.demand * share // 100, category="card_spend", channel="pos")
        else:
            w.debit(
                c.demand * share // 100,
                category="interbank_transfer",
                channel="online",
                other_bank=True,
            )


def _consolidate(w: DayWriter, c: Customer) -> None:
    """Bring investments and time deposits back to the demand account before they leave."""
    if c.investment > 0:
        amount, c.investment = c.investment, 0
        w.credit(amount, category="investment_redeem", channel="mobile")
    if c.time_deposit > 0:
        amount, c.time_deposit = c.time_deposit, 0
        w.credit(amount, category="internal_transfer", channel="branch")


def exit_relationship(w: DayWriter, c: Customer, ctx: DayContext) -> None:
    """Churn day: everything is redeemed, the last money leaves for another bank, accounts close."""
    _consolidate(w, c)
    if c.loan > 0:
        # Refinanced at another bank: repaid in full from outside the demand account.
        w.repay_loan(c.loan, from_demand=False)
    for product in [p for p in ATTRITION_ORDER if p in c.products]:
        w.cancel(product, reason="relationship ended")
    w.debit(c.demand, category="interbank_transfer", channel="branch", other_bank=True)
    for kind in ("loan", "investment", "time_deposit"):
        if kind in c.had_accounts:
            w.close_account(kind, reason="relationship ended")
    w.close_account("demand", reason="customer moved to another bank")
    c.closed_day = ctx.day
