"""One realistic customer's life: accounts, income, bills, spending, contacts and (maybe) leaving.

Rates and amounts are the Berka-grounded figures in ``realistic``'s docstring; see there for where
each comes from. The accounts, the writing of events and the month end are ``realistic_ledger``'s.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from churnwatch_simulator import realistic_facts as facts
from churnwatch_simulator.emitter import fmt
from churnwatch_simulator.realistic_ledger import (
    CONTACT_TOPICS,
    FX_RATES,
    HOME,
    Draft,
    Ledger,
    Person,
    _lognormal,
    _poisson,
)

__all__ = ["FX_RATES", "HOME", "Life", "Person"]


class Life(Ledger):
    """Runs one customer through the horizon and returns their drafts."""

    def __init__(self, *, person: Person, days: int, start: date) -> None:
        from churnwatch_simulator.realistic import (
            BUSY_PER_MONTH,
            LOW_ACTIVITY_PER_MONTH,
            REGULAR_PER_MONTH,
        )

        self.p, self.days, self.start = person, days, start
        rng = self.rng = person.rng
        self.out: list[Draft] = []
        self.seq = 0
        kind = person.kind
        per_month = {
            "low_activity": LOW_ACTIVITY_PER_MONTH,
            "regular": REGULAR_PER_MONTH,
            "bill_payer": REGULAR_PER_MONTH,
            "busy": BUSY_PER_MONTH,
            "card_centred": (4.0, 20.0),
            "multi_currency": REGULAR_PER_MONTH,
            "overdraft": REGULAR_PER_MONTH,
        }[kind]
        self.rate = rng.uniform(*per_month)
        income_kind = rng.choices(
            ("pension", "salary_other_bank", "salary", "cash"), (17, 19, 25, 39)
        )[0]
        self.income_kind = income_kind
        self.income = _lognormal(
            rng,
            5634 if income_kind == "pension" else 5000,
            0.15 if income_kind == "pension" else 0.5,
        )
        self.pay_day = rng.randint(1, 28)
        self.bills: list[tuple[str, int, int]] = []  # (purpose, day of month, amount)
        if kind == "bill_payer" or rng.random() < 0.545:
            self.bills.append(("household", rng.randint(5, 20), _lognormal(rng, 3437, 0.6)))
        if kind == "bill_payer" or rng.random() < 0.09:
            self.bills.append(("insurance", rng.randint(5, 20), _lognormal(rng, 563, 0.9)))
        if kind == "bill_payer":
            self.bills.append(("utilities", rng.randint(5, 20), _lognormal(rng, 900, 0.5)))
        bills_total = sum(b[2] for b in self.bills)
        ratio = rng.uniform(1.02, 1.15) if kind == "overdraft" else rng.uniform(0.8, 0.97)
        self.spend_per_event = max(1000, int((self.income * ratio - bills_total) / self.rate))
        self.sigma = 1.0 if person.fate == "noisy_stays" else 0.5
        cid = person.customer_id
        self.demand_id, self.card_id, self.fx_id = f"{cid}-D", f"{cid}-K", f"{cid}-F"
        self.bal = {self.demand_id: _lognormal(rng, 28_274, 0.8)}
        self.card_limit = self.card_owed = 0
        if kind == "card_centred":
            self.bal[self.demand_id] = _lognormal(rng, 2_000, 0.5)
            self.card_limit = rng.choice((10_000, 20_000, 30_000, 50_000)) * 100
            self.card_owed = int(self.card_limit * rng.uniform(0.0, 0.3))
            self.revolver = rng.random() < 0.4
        self.fx = ""
        if kind == "multi_currency":
            self.fx = rng.choice(("EUR", "USD"))
            person.currencies.add(self.fx)
            self.bal[self.fx_id] = _lognormal(rng, 3_000, 0.6)
        self.overdraft_limit = self.income // 2 if kind == "overdraft" else 0
        if kind == "overdraft":
            self.bal[self.demand_id] = _lognormal(rng, 1_500, 0.5)  # lives close to zero
        if self.bal[self.demand_id] > 5_000_000:
            person.tier = "gold"
        self._plan()

    def _plan(self) -> None:
        p, rng, days = self.p, self.rng, self.days
        if p.fate in ("quiet_leaver", "contact_leaver"):
            length = min(rng.randint(45, 120), int(days * 0.6))
            p.drift_start = rng.randint(int(days * 0.15), days - 1 - length)
            p.churn_day = p.drift_start + length
        elif p.fate == "noisy_stays":
            self.holiday = rng.randrange(1, days - 30)
            self.holiday_end = self.holiday + rng.randint(14, 30)
            self.big_day, self.bonus_day = rng.randrange(1, days), rng.randrange(1, days)

    # --- the horizon -------------------------------------------------------------------------

    def run(self) -> list[Draft]:
        self._introduce()
        for day in range(self.days):
            if (
                self.p.churn_day is not None
                and day > self.p.churn_day
                and self.p.fate == "contact_leaver"
            ):
                break
            self._live(day)
        return self.out

    def _introduce(self) -> None:
        p = self.p
        profile = {"segment": "retail", "tier": p.tier, "branch_id": p.branch_id}
        profile["customer_since"] = (
            self.start - timedelta(days=self.rng.randint(200, 6000))
        ).isoformat()
        self.emit(0, 0, "customer.profile", profile)
        self.emit(
            0,
            0,
            "customer.assigned",
            {"relationship_manager_id": p.manager_id, "branch_id": p.branch_id},
        )
        products = ["debit_card"] if p.kind != "card_centred" else ["credit_card"]
        if self.rng.random() < 0.6:
            products.append("online_banking")
        if self.rng.random() < 0.5:
            products.append("mobile_banking")
        for product in products:
            subscribed: dict[str, Any] = {"product": product}
            if product == "credit_card":
                subscribed["variant"] = facts.card_variant(self.card_limit)
                subscribed.update(credit_limit=fmt(self.card_limit), currency=HOME)
            self.emit(0, 0, "product.subscribed", subscribed)
        for n, (purpose, _day, amount) in enumerate(self.bills):
            order = facts.standing_order(p.customer_id, n, purpose, fmt(amount))
            self.emit(0, 0, "standing_order.created", order, self.demand_id)
        self._snapshot(0)

    def _activity(self, day: int) -> float:
        """Multiplier of customer-initiated activity on ``day`` (1 = usual)."""
        p = self.p
        if p.churn_day is not None and day >= p.churn_day:
            return 0.0
        # _plan sets drift_start and churn_day together (leavers only)
        if p.drift_start is not None and p.churn_day is not None and day >= p.drift_start:
            done = (day - p.drift_start) / max(1, p.churn_day - p.drift_start)
            floor = 0.15 if p.fate == "quiet_leaver" else 0.5
            return 1.0 - (1.0 - floor) * done
        if p.fate == "noisy_stays" and self.holiday <= day < self.holiday_end:
            return 0.0
        return 1.0

    def _live(self, day: int) -> None:
        rng, p = self.rng, self.p
        today = self.start + timedelta(days=day)
        active = self._activity(day)
        left = p.churn_day is not None and day >= p.churn_day
        if today.day == self.pay_day and not left:
            kind = self.income_kind
            if kind == "cash":
                self.post(
                    day,
                    10 * 3600 + rng.randrange(7200),
                    self.demand_id,
                    "credit",
                    self.income,
                    "cash",
                    "branch",
                )
            else:
                self.post(
                    day,
                    6 * 3600,
                    self.demand_id,
                    "credit",
                    self.income,
                    "payroll_credit",
                    "batch",
                    other_bank=kind != "salary",
                    about=facts.income(p.customer_id, kind),
                )
        for n, (purpose, bill_day, amount) in enumerate(self.bills):
            if today.day == bill_day and not left:
                self.debit(
                    day,
                    6 * 3600 + 60,
                    amount,
                    "loan_repayment" if purpose == "loan" else "agency_payment",
                    "batch",
                    other_bank=True,
                    about=facts.bill(p.customer_id, n, purpose),
                )
        for _ in range(_poisson(rng, self.rate / 30.0 * active)):
            self._spend(day, 8 * 3600 + rng.randrange(13 * 3600))
        if p.fate == "noisy_stays" and not left:
            if day == self.big_day:
                amount = int(max(0, self.bal[self.demand_id]) * rng.uniform(0.4, 0.8))
                if amount > 0:
                    self.debit(
                        day, 15 * 3600, amount, "interbank_transfer", "online", other_bank=True,
                        about=facts.UNKNOWN,
                    )  # fmt: skip
            if day == self.bonus_day:
                self.post(
                    day,
                    6 * 3600 + 30,
                    self.demand_id,
                    "credit",
                    self.income * rng.randint(2, 4),
                    "payroll_credit",
                    "batch",
                    about=facts.income(p.customer_id, "salary"),
                )
        self._contacts(day, left)
        if self.card_limit and today.day == 25 and self.card_owed > 0 and not left:
            pay = (
                self.card_owed
                if not self.revolver
                else max(self.card_owed // 10, min(self.card_owed, 50_000))
            )
            if self.debit(
                day, 6 * 3600 + 120, pay, "internal_transfer", "batch", about=facts.OWN_CARD
            ):
                self.card_owed -= pay
        if p.fate == "contact_leaver" and day == p.churn_day:
            self._leave(day)
            return
        if (today + timedelta(days=1)).day == 1:
            self._month_end(day)

    def _spend(self, day: int, second: int) -> None:
        rng = self.rng
        amount = _lognormal(rng, self.spend_per_event / 100, self.sigma)
        if self.card_limit and rng.random() < 0.85:
            if self.card_owed + amount <= self.card_limit:
                self.card_owed += amount
                self.post(
                    day, second, self.card_id, "debit", amount, "card_spend", "pos",
                    balance=False, about=facts.MERCHANT,
                )  # fmt: skip
            return
        if self.fx and rng.random() < 0.3:
            fx_amount = max(100, int(amount / FX_RATES[self.fx]))
            if rng.random() < 0.35:
                self.post(
                    day,
                    second,
                    self.fx_id,
                    "credit",
                    fx_amount * 3,
                    "international_settlement",
                    "batch",
                    other_bank=True,
                    about=facts.UNKNOWN,
                )
            else:
                self.debit(
                    day, second, fx_amount, "card_spend", "pos", account=self.fx_id,
                    about=facts.MERCHANT,
                )  # fmt: skip
            return
        roll = rng.random()
        if roll < 0.45:
            self.debit(day, second, amount, "cash", rng.choice(("atm", "branch")))
        elif roll < 0.75:
            self.debit(day, second, amount, "card_spend", "pos", about=facts.MERCHANT)
        else:
            self.debit(
                day,
                second,
                amount,
                "interbank_transfer",
                rng.choice(("online", "mobile")),
                other_bank=True,
                about=facts.person(self.p.customer_id, self.seq),
            )

    def _contacts(self, day: int, left: bool) -> None:
        p, rng = self.p, self.rng
        if left:
            return
        per_month = 0.03 if p.fate != "noisy_stays" else 0.08
        if p.fate == "contact_leaver" and p.drift_start is not None and day >= p.drift_start:
            per_month = 1.5
        if rng.random() < per_month / 30.0:
            self.seq_complaint = getattr(self, "seq_complaint", 0) + 1
            complaint_id = f"{p.customer_id}-Q{self.seq_complaint}"
            payload = {
                "complaint_id": complaint_id,
                "category": rng.choice(CONTACT_TOPICS),
                "severity": rng.choice(("low", "low", "medium", "high")),
                "channel": rng.choice(("branch", "online", "mobile")),
            }
            second = 9 * 3600 + rng.randrange(9 * 3600)
            if payload["category"] in facts.ENQUIRY_TOPICS:  # a request, not a complaint
                kind, channel = facts.CONTACT_CHANNELS[payload["channel"]]
                contact = {"kind": kind, "initiated_by": "customer", "channel": channel,
                           "topic": payload["category"]}  # fmt: skip
                self.emit(day, second, "contact.logged", contact)
            else:
                self.emit(day, second, "complaint.filed", payload)

    def _leave(self, day: int) -> None:
        """A contact leaver moves the rest to another bank and closes everything."""
        second = 14 * 3600
        if self.card_owed > 0:
            self.debit(
                day,
                second,
                min(self.card_owed, max(0, self.bal[self.demand_id])),
                "internal_transfer",
                "batch",
                about=facts.OWN_CARD,
            )
        for account, balance in list(self.bal.items()):
            if balance > 0:
                self.post(
                    day,
                    second + 60,
                    account,
                    "debit",
                    balance,
                    "interbank_transfer",
                    "online",
                    other_bank=True,
                    about=facts.own_account_elsewhere(self.p.customer_id),
                )
        if self.card_limit:
            self.emit(
                day,
                second + 120,
                "product.cancelled",
                {"product": "credit_card", "reason": "moving to another bank"},
            )
            self.emit(
                day,
                second + 130,
                "account.closed",
                {"product_kind": "card", "reason": "customer request"},
                self.card_id,
            )
        for account in self.bal:
            self.emit(
                day,
                second + 180,
                "account.closed",
                {"product_kind": "demand", "reason": "customer request"},
                account,
            )
