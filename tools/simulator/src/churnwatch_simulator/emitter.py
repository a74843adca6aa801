"""Turns one customer's day of activity into event drafts: plain dicts, no validation in the hot path.

A draft is ``(second_of_day, customer_idx, seq, event_type, customer_id, account_id, payload)``;
the bank sorts a day's drafts, then stamps ``event_id`` and ``occurred_at`` in time order.
"""

from __future__ import annotations

import random
from typing import Any

from churnwatch_simulator.population import Customer

CURRENCY = "CNY"
FIRST_ACTIVITY_SECOND = 7 * 3600
LAST_ACTIVITY_SECOND = 22 * 3600
SNAPSHOT_SECOND = 23 * 3600 + 55 * 60
OTHER_BANKS = ("ICBKCNBJ", "PCBCCNBJ", "ABOCCNBJ", "BKCHCNBJ", "CMBCCNBS", "SPDBCNSH", "CIBKCNBJ")

Draft = tuple[int, int, int, str, str, str | None, dict[str, Any]]


def fmt(fen: int) -> str:
    """Integer fen as a CNY decimal string ("1234.50")."""
    if fen < 0:
        return "-" + fmt(-fen)
    return f"{fen // 100}.{fen % 100:02d}"


class DayWriter:
    """Writes one customer's events for one day, keeping balances and time order consistent."""

    __slots__ = ("c", "out", "rng", "sec", "seq")

    def __init__(self, *, rng: random.Random, out: list[Draft]) -> None:
        self.rng = rng
        self.out = out
        self.c: Customer | None = None
        self.sec = 0
        self.seq = 0

    def begin(self, customer: Customer, *, second: int | None = None) -> None:
        """Start writing for ``customer``; activity begins at a random morning second."""
        self.c = customer
        self.seq = 0
        self.sec = (
            second if second is not None else FIRST_ACTIVITY_SECOND + self.rng.randrange(7200)
        )

    def _tick(self) -> int:
        self.sec = min(self.sec + self.rng.randrange(60, 3600), LAST_ACTIVITY_SECOND)
        return self.sec

    def emit(
        self,
        event_type: str,
        payload: dict[str, Any],
        *,
        account_id: str | None = None,
        second: int | None = None,
    ) -> None:
        """Append one draft at the next tick (or at ``second``)."""
        c = self.c
        assert c is not None
        sec = self._tick() if second is None else second
        self.seq += 1
        self.out.append((sec, c.idx, self.seq, event_type, c.customer_id, account_id, payload))

    def _transaction(
        self, direction: str, amount: int, category: str, channel: str, other_bank: bool
    ) -> None:
        c = self.c
        assert c is not None
        payload: dict[str, Any] = {
            "direction": direction,
            "amount": fmt(amount),
            "currency": CURRENCY,
            "channel": channel,
            "category": category,
        }
        if other_bank:
            payload["counterparty_bank"] = self.rng.choice(OTHER_BANKS)
        payload["counterparty_is_own_bank"] = not other_bank
        payload["balance_after"] = fmt(c.demand)
        self.emit("transaction.posted", payload, account_id=c.demand_account)

    def credit(self, amount: int, *, category: str, channel: str, other_bank: bool = False) -> None:
        """Money into the demand account."""
        if amount <= 0:
            return
        assert self.c is not None
        self.c.demand += amount
        self._transaction("credit", amount, category, channel, other_bank)

    def debit(self, amount: int, *, category: str, channel: str, other_bank: bool = False) -> int:
        """Money out of the demand account, clipped to the balance; returns the amount moved."""
        assert self.c is not None
        amount = min(amount, self.c.demand)
        if amount <= 0:
            return 0
        self.c.demand -= amount
        self._transaction("debit", amount, category, channel, other_bank)
        return amount

    def snapshot(self, as_of: str) -> None:
        """End-of-day balances of every open account."""
        c = self.c
        assert c is not None
        cid = c.customer_id
        balances = [
            {
                "account_id": f"{cid}-D",
                "product_kind": "demand",
                "balance": fmt(c.demand),
                "currency": CURRENCY,
            }
        ]
        if "time_deposit" in c.had_accounts:
            balances.append(
                {
                    "account_id": f"{cid}-T",
                    "product_kind": "time_deposit",
                    "balance": fmt(c.time_deposit),
                    "currency": CURRENCY,
                }
            )
        if "investment" in c.had_accounts:
            balances.append(
                {
                    "account_id": f"{cid}-I",
                    "product_kind": "investment",
                    "balance": fmt(c.investment),
                    "currency": CURRENCY,
                }
            )
        if "loan" in c.had_accounts:
            balances.append(
                {
                    "account_id": c.loan_id,
                    "product_kind": "loan",
                    "balance": fmt(c.loan),
                    "currency": CURRENCY,
                }
            )
        self.emit(
            "balance.snapshot", {"as_of": as_of, "balances": balances}, second=SNAPSHOT_SECOND
        )

    def subscribe(self, product: str) -> None:
        """product.subscribed, and remember it."""
        assert self.c is not None
        if product not in self.c.products:
            self.c.products.append(product)
        self.emit("product.subscribed", {"product": product})

    def cancel(self, product: str, *, reason: str | None = None) -> None:
        """product.cancelled, and forget it."""
        assert self.c is not None
        if product in self.c.products:
            self.c.products.remove(product)
        payload: dict[str, Any] = {"product": product}
        if reason:
            payload["reason"] = reason
        self.emit("product.cancelled", payload)

    def close_account(self, kind: str, *, reason: str) -> None:
        """account.closed for one of the customer's accounts."""
        c = self.c
        assert c is not None
        suffix = {"demand": "D", "time_deposit": "T", "investment": "I", "loan": "L1"}[kind]
        c.had_accounts.discard(kind)
        self.emit(
            "account.closed",
            {"product_kind": kind, "reason": reason},
            account_id=f"{c.customer_id}-{suffix}",
        )

    def repay_loan(self, amount: int, *, from_demand: bool = True) -> None:
        """Loan instalment: the debit on the demand account and loan.repaid."""
        c = self.c
        assert c is not None
        amount = min(amount, c.loan)
        if amount <= 0:
            return
        if from_demand:
            amount = self.debit(amount, category="loan_repayment", channel="batch")
            if amount <= 0:
                return
        c.loan -= amount
        self.emit(
            "loan.repaid",
            {
                "loan_id": c.loan_id,
                "amount": fmt(amount),
                "currency": CURRENCY,
                "outstanding_after": fmt(c.loan),
            },
            account_id=c.loan_id,
        )
