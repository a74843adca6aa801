"""Month-end and window-end events of one account: balance snapshots, loan arrears
(``loan.overdue``, see ``arrears``: days past due from the instalment schedule and the
instalments paid) and, when asked for, each loan's status at the window's end
(``loan.classified``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from churnwatch_berka.arrears import arrears
from churnwatch_berka.book import (
    ARREARS,
    SNAPSHOT,
    STATUS,
    Book,
    Keyed,
    account_id,
    at,
    loan_id,
    money,
    month_ends,
)
from churnwatch_berka.mapping import CURRENCY
from churnwatch_berka.tables import Account


def _loan_event(
    event_id: str, when: datetime, cid: str, lid: str, event_type: str
) -> dict[str, Any]:
    """A loan event's envelope, its keys in the loader's order (the payload goes last)."""
    return {
        "event_id": event_id,
        "schema_version": 1,
        "occurred_at": when.isoformat(),
        "customer_id": cid,
        "account_id": lid,
        "event_type": event_type,
    }


# Loan status at the data set's end -> the closest five-category classification.
STATUS_CLASSIFICATION = {"A": "normal", "B": "loss", "C": "normal", "D": "substandard"}


def snapshots(
    book: Book, acc: Account, cid: str, balance_on: list[tuple[date, Decimal]], seq: int
) -> Iterator[Keyed]:
    """Month-end balances of the demand account and of each loan granted by then."""
    aid = acc.account_id
    loans = [x for x in book.loans.get(aid, []) if x.granted <= book.until]
    repaid: list[tuple[date, int, Decimal]] = []
    for t in book.trans.get(aid, []):
        if book.postings[t.trans_id].purpose == "loan_instalment":
            open_loans = [x for x in loans if x.granted <= t.booked]
            if open_loans:
                repaid.append((t.booked, open_loans[-1].loan_id, t.amount))
    i = 0
    balance = Decimal(0)
    for end in month_ends(acc.opened, book.until):
        while i < len(balance_on) and balance_on[i][0] <= end:
            balance = balance_on[i][1]
            i += 1
        balances = [
            {
                "account_id": account_id(aid),
                "product_kind": "demand",
                "balance": money(balance),
                "currency": CURRENCY,
            }
        ]
        for loan in loans:
            if loan.granted <= end:
                paid = sum(
                    (a for d, lid, a in repaid if lid == loan.loan_id and d <= end), Decimal(0)
                )
                left = max(Decimal(0), loan.amount - paid)
                balances.append(
                    {
                        "account_id": loan_id(loan.loan_id),
                        "product_kind": "loan",
                        "balance": money(left),
                        "currency": CURRENCY,
                    }
                )
        when = at(end, SNAPSHOT)
        event = {
            "event_id": f"{account_id(aid)}.snapshot.{end:%Y%m}",
            "schema_version": 1,
            "occurred_at": when.isoformat(),
            "customer_id": cid,
            "account_id": account_id(aid),
            "event_type": "balance.snapshot",
            "payload": {"as_of": end.isoformat(), "balances": balances},
        }
        seq += 1
        yield (when, aid, seq, 0), event


def loan_arrears(
    book: Book, acc: Account, cid: str, paid_on: dict[int, list[date]]
) -> Iterator[Keyed]:
    """``loan.overdue`` at each month end a loan is in arrears (and the first after it is cured)."""
    aid = acc.account_id
    for loan in book.loans.get(aid, []):
        if loan.granted > book.until:
            continue
        lid = loan_id(loan.loan_id)
        ends = month_ends(acc.opened, book.until)
        for a in arrears(loan=loan, paid_on=paid_on.get(loan.loan_id, []), month_ends=ends):
            payload = {
                "loan_id": lid,
                "days_past_due": a.days_past_due,
                "overdue_amount": money(a.overdue_amount),
                "currency": CURRENCY,
            }
            when = at(a.as_of, ARREARS)
            event = _loan_event(f"{lid}.overdue.{a.as_of:%Y%m}", when, cid, lid, "loan.overdue")
            event["payload"] = payload
            yield (when, aid, 1 << 19, loan.loan_id), event


def loan_status(
    book: Book, acc: Account, cid: str, outstanding: dict[int, Decimal]
) -> Iterator[Keyed]:
    """``loan.classified`` for each loan at the window's end: its status known in 1998."""
    aid = acc.account_id
    for loan in book.loans.get(aid, []):
        if loan.granted > book.until:
            continue
        lid = loan_id(loan.loan_id)
        status = {
            "loan_id": lid,
            "classification": STATUS_CLASSIFICATION[loan.status],
            "balance": money(outstanding[loan.loan_id]),
            "currency": CURRENCY,
        }
        when = at(book.until, STATUS)
        event = _loan_event(f"{lid}.status", when, cid, lid, "loan.classified")
        event["payload"] = status
        yield (when, aid, 1 << 20, loan.loan_id), event
