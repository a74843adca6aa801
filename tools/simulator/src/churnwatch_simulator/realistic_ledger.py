"""A realistic customer's accounts and how their events are written (the simulator's ledger).

Money is integer minor units (fen, cents) per account; drafts are the same tuples the classic
simulator sorts, with the first element the second since the run's start. ``Ledger`` posts
transactions against the balances it keeps (refusing debits past the floor), closes months
(interest, penalty interest, the fee, a balance snapshot) and writes every event as a draft;
``realistic_life.Life`` decides what happens on which day.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from churnwatch_simulator.emitter import fmt

HOME = "CNY"
FX_RATES = {"EUR": 7.8, "USD": 7.2}  # home units per foreign unit, for sizing amounts only
OTHER_BANKS = ("ICBKCNBJ", "PCBCCNBJ", "ABOCCNBJ", "BKCHCNBJ", "CMBCCNBS", "DEUTDEFF", "CHASUS33")
DAY = 86_400
CONTACT_TOPICS = ("service_enquiry", "fees", "service_quality", "branch_wait", "app_issue")

Draft = tuple[int, int, int, str, str, str | None, dict[str, Any]]


@dataclass(slots=True)
class Person:
    """Who a customer is and what will happen to them (the plan is drawn by ``Life``)."""

    idx: int
    customer_id: str
    kind: str
    fate: str
    rng: random.Random
    manager_id: str
    branch_id: str
    tier: str = "mass"
    currencies: set[str] = field(default_factory=lambda: {HOME})
    drift_start: int | None = None
    churn_day: int | None = None


def _lognormal(rng: random.Random, median: float, sigma: float) -> int:
    """An amount in minor units around ``median`` (major units)."""
    return max(100, int(median * math.exp(rng.gauss(0.0, sigma)) * 100))


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class Ledger:
    """The accounts of one customer and the drafts written for them (``Life`` fills both in)."""

    p: Person
    rng: random.Random
    start: date
    out: list[Draft]
    seq: int
    bal: dict[str, int]  # account id -> balance, minor units
    demand_id: str
    card_id: str
    fx_id: str
    fx: str  # the foreign currency of the fx account ("" without one)
    card_limit: int
    card_owed: int
    overdraft_limit: int

    # --- writing -----------------------------------------------------------------------------

    def emit(
        self,
        day: int,
        second: int,
        event_type: str,
        payload: dict[str, Any],
        account: str | None = None,
    ) -> None:
        self.seq += 1
        self.out.append(
            (
                day * DAY + second,
                self.p.idx,
                self.seq,
                event_type,
                self.p.customer_id,
                account,
                payload,
            )
        )

    def post(
        self,
        day: int,
        second: int,
        account: str,
        direction: str,
        amount: int,
        category: str,
        channel: str,
        *,
        other_bank: bool = False,
        balance: bool = True,
        about: dict[str, Any] | None = None,
    ) -> None:
        currency = self.fx if account == self.fx_id else HOME
        payload: dict[str, Any] = {
            "direction": direction,
            "amount": fmt(amount),
            "currency": currency,
            "channel": channel,
            "category": category,
        }
        if other_bank:
            payload["counterparty_bank"] = self.rng.choice(OTHER_BANKS)
        payload["counterparty_is_own_bank"] = not other_bank
        if balance:
            self.bal[account] += amount if direction == "credit" else -amount
            payload["balance_after"] = fmt(self.bal[account])
        if about:
            payload.update(about)
        self.emit(day, second, "transaction.posted", payload, account)

    def debit(
        self,
        day: int,
        second: int,
        amount: int,
        category: str,
        channel: str,
        *,
        other_bank: bool = False,
        account: str | None = None,
        about: dict[str, Any] | None = None,
    ) -> bool:
        account = account or self.demand_id
        floor = -self.overdraft_limit if account == self.demand_id else 0
        if self.bal[account] - amount < floor:
            if self.p.kind == "overdraft":
                reason = "insufficient funds beyond the overdraft limit"
                self.emit(
                    day,
                    second,
                    "payment.bounced",
                    {"amount": fmt(amount), "currency": HOME, "reason": reason},
                )
            return False
        self.post(
            day, second, account, "debit", amount, category, channel, other_bank=other_bank,
            about=about,
        )  # fmt: skip
        return True

    # --- month end ----------------------------------------------------------------------------

    def _month_end(self, day: int) -> None:
        for account, balance in self.bal.items():
            if balance > 0:
                interest = max(1, balance // 1000)
                self.post(day, 23 * 3600, account, "credit", interest, "interest", "batch")
            elif balance < 0:
                penalty = max(1, -balance * 15 // 10_000)
                self.post(
                    day, 23 * 3600 + 60, account, "debit", penalty, "penalty_interest", "batch"
                )
        self.post(day, 23 * 3600 + 30, self.demand_id, "debit", 1500, "fee", "batch")
        self._snapshot(day)

    def _snapshot(self, day: int) -> None:
        balances = []
        for account, balance in self.bal.items():
            currency = self.fx if account == self.fx_id else HOME
            demand = {
                "account_id": account,
                "product_kind": "demand",
                "balance": fmt(balance),
                "currency": currency,
            }
            if account == self.demand_id and self.overdraft_limit:
                demand["overdraft_limit"] = fmt(self.overdraft_limit)
            balances.append(demand)
        if self.card_limit:
            balances.append(
                {
                    "account_id": self.card_id,
                    "product_kind": "card",
                    "balance": fmt(self.card_owed),  # owed, positive
                    "currency": HOME,
                    "credit_limit": fmt(self.card_limit),
                }
            )
        as_of = (self.start + timedelta(days=day)).isoformat()
        self.emit(
            day, 23 * 3600 + 55 * 60, "balance.snapshot", {"as_of": as_of, "balances": balances}
        )
