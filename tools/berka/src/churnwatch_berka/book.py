"""The selected Berka accounts (a ``Book``), their ChurnWatch ids, and how events are stamped.

One ChurnWatch customer per account: the account's OWNER client (every client has exactly one
disposition, so owners and accounts are one to one; a DISPONENT may use the account but holds no
relationship of their own and gets no events). Ids are ``berka.c<client_id>`` (customer),
``berka.a<account_id>`` (demand account), ``berka.l<loan_id>`` (loan and its account).

Times are Europe/Prague. Berka books dates only, so within a day: profile/assignment/opening at
08:00, cards at 09:00, loans at 09:30, transactions from 12:00 one second apart (by trans_id per
account), month-end balance snapshots at 23:59, then loan arrears and, at the window's end, loan
status.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from churnwatch_berka.mapping import Posting, classify
from churnwatch_berka.tables import Account, Berka, Card, Loan, Order, Trans

PRAGUE = ZoneInfo("Europe/Prague")
OPENING, CARDS, LOANS, TRANSACTIONS = time(8), time(9), time(9, 30), time(12)
SNAPSHOT, ARREARS, STATUS = time(23, 59), time(23, 59, 15), time(23, 59, 30)

# An event with its sort key: (time, account, sequence within the account, loan)
Keyed = tuple[tuple[datetime, int, int, int], dict[str, Any]]


def customer_id(client_id: int) -> str:
    """ChurnWatch customer id of a Berka client."""
    return f"berka.c{client_id}"


def account_id(berka_account: int) -> str:
    """ChurnWatch account id of a Berka account."""
    return f"berka.a{berka_account}"


def loan_id(berka_loan: int) -> str:
    """ChurnWatch loan (and loan account) id of a Berka loan."""
    return f"berka.l{berka_loan}"


@dataclass(frozen=True, slots=True)
class Book:
    """The selected accounts of a data set and everything indexed by account."""

    data: Berka
    until: date
    accounts: list[Account]
    owner: dict[int, int]  # account -> owner client
    disponents: dict[int, int]
    cards: dict[int, list[Card]]
    loans: dict[int, list[Loan]]
    orders: dict[int, list[Order]]
    trans: dict[int, list[Trans]]
    postings: dict[int, Posting]  # trans_id -> mapping


def select(*, data: Berka, accounts: int | None = None, until: date | None = None) -> Book:
    """Index the data set and choose the accounts to load (opened by ``until``; first N by date)."""
    if accounts is not None and accounts < 1:
        raise ValueError(f"accounts must be at least 1 (got {accounts})")
    if until is None:
        if not data.trans:
            raise ValueError("the trans table is empty; pass until explicitly")
        until = max(t.booked for t in data.trans)
    chosen = sorted(
        (a for a in data.accounts if a.opened <= until), key=lambda a: (a.opened, a.account_id)
    )
    if accounts is not None:
        chosen = chosen[:accounts]
    keep = {a.account_id for a in chosen}
    owner: dict[int, int] = {}
    disponents: dict[int, int] = defaultdict(int)
    disp_account: dict[int, int] = {}
    for d in data.disps:
        disp_account[d.disp_id] = d.account_id
        if d.role == "OWNER":
            owner[d.account_id] = d.client_id
        else:
            disponents[d.account_id] += 1
    missing = sorted(keep - owner.keys())
    if missing:
        raise ValueError(f"accounts without an OWNER disposition: {missing[:10]}")
    cards: dict[int, list[Card]] = defaultdict(list)
    for c in sorted(data.cards, key=lambda c: (c.issued, c.card_id)):
        if disp_account.get(c.disp_id) in keep:
            cards[disp_account[c.disp_id]].append(c)
    loans: dict[int, list[Loan]] = defaultdict(list)
    for loan in sorted(data.loans, key=lambda x: (x.granted, x.loan_id)):
        if loan.account_id in keep:
            loans[loan.account_id].append(loan)
    orders: dict[int, list[Order]] = defaultdict(list)
    by_payee: dict[tuple[int, str, str], Order] = {}
    for o in sorted(data.orders, key=lambda o: o.order_id):
        if o.account_id in keep:
            orders[o.account_id].append(o)
            by_payee.setdefault((o.account_id, o.bank_to, o.account_to), o)
    trans: dict[int, list[Trans]] = defaultdict(list)
    postings: dict[int, Posting] = {}
    for t in sorted(data.trans, key=lambda t: (t.booked, t.trans_id)):
        if t.account_id in keep and t.booked <= until:
            trans[t.account_id].append(t)
            order = by_payee.get((t.account_id, t.bank, t.partner_account)) if t.bank else None
            if order is not None and t.type == "PRIJEM":
                order = None  # standing orders pay out; a credit from that account is not one
            postings[t.trans_id] = classify(trans=t, order=order)
    return Book(
        data=data,
        until=until,
        accounts=chosen,
        owner=owner,
        disponents=dict(disponents),
        cards=dict(cards),
        loans=dict(loans),
        orders=dict(orders),
        trans=dict(trans),
        postings=postings,
    )


def at(day: date, clock: time, seconds: int = 0) -> datetime:
    """The Prague time of ``clock`` on ``day``, ``seconds`` later."""
    return datetime.combine(day, clock, tzinfo=PRAGUE) + timedelta(seconds=seconds)


def money(amount: Decimal) -> str:
    """An amount as the contract's decimal text, to the cent."""
    return format(amount.quantize(Decimal("0.01")), "f")


def month_ends(first: date, last: date) -> Iterator[date]:
    """Every month's last day from ``first``'s month through ``last``."""
    year, month = first.year, first.month
    while True:
        nxt = date(year + month // 12, month % 12 + 1, 1)
        end = nxt - timedelta(days=1)
        if end > last:
            return
        yield end
        year, month = nxt.year, nxt.month
