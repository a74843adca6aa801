"""The Berka tables as ChurnWatch events, in event-time order with stable ids.

One ChurnWatch customer per account: the account's OWNER client (every client has exactly one
disposition, so owners and accounts are one to one; a DISPONENT may use the account but holds no
relationship of their own and gets no events). Ids are ``berka.c<client_id>`` (customer),
``berka.a<account_id>`` (demand account), ``berka.l<loan_id>`` (loan and its account).

The replay window ends at ``until`` (default: the last booked transaction, 1994-03-31 for the
shipped prefix); only accounts opened by then are loaded and nothing after it is emitted, so a
replay never sees months of artificial silence after the transactions stop. Loan status (A-D) is
the outcome known at the data set's end (1998): it is ground truth (``outcomes``), not an event,
unless ``loan_status_events`` asks for it as ``loan.classified`` at the window's end.

Times are Europe/Prague. Berka books dates only, so within a day: profile/assignment/opening at
08:00, cards at 09:00, loans at 09:30, transactions from 12:00 one second apart (by trans_id per
account), month-end balance snapshots at 23:59, then loan arrears (``loan.overdue``, see
``arrears``: days past due from the instalment schedule and the instalments paid). Event ids come from the source ids, so two runs,
or runs with a different ``accounts`` limit, give the same id to the same fact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from churnwatch_berka.arrears import add_months, arrears
from churnwatch_berka.mapping import (
    CURRENCY,
    ORDER_PURPOSES,
    PURPOSE_FACTS,
    Posting,
    classify,
    standing_order_id,
)
from churnwatch_berka.tables import Account, Berka, Card, Loan, Order, Trans
from churnwatch_shared.codes import counterparty_id_for

PRAGUE = ZoneInfo("Europe/Prague")
OPENING, CARDS, LOANS, TRANSACTIONS = time(8), time(9), time(9, 30), time(12)
SNAPSHOT, ARREARS, STATUS = time(23, 59), time(23, 59, 15), time(23, 59, 30)
# Loan status at the data set's end -> the closest five-category classification.
STATUS_CLASSIFICATION = {"A": "normal", "B": "loss", "C": "normal", "D": "substandard"}


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


def _at(day: date, clock: time, seconds: int = 0) -> datetime:
    return datetime.combine(day, clock, tzinfo=PRAGUE) + timedelta(seconds=seconds)


def _money(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01")), "f")


def _month_ends(first: date, last: date) -> Iterator[date]:
    year, month = first.year, first.month
    while True:
        nxt = date(year + month // 12, month % 12 + 1, 1)
        end = nxt - timedelta(days=1)
        if end > last:
            return
        yield end
        year, month = nxt.year, nxt.month


Keyed = tuple[tuple[datetime, int, int, int], dict[str, Any]]


def _account_events(book: Book, acc: Account, loan_status_events: bool) -> list[Keyed]:
    """Every event of one account's owner, each with its sort key."""
    out: list[Keyed] = []
    aid = acc.account_id
    cid = customer_id(book.owner[aid])
    seq = 0

    def add(
        when: datetime, event_id: str, event_type: str, payload: dict[str, Any], acct: str | None
    ) -> None:
        nonlocal seq
        seq += 1
        event: dict[str, Any] = {
            "event_id": event_id,
            "schema_version": 1,
            "occurred_at": when.isoformat(),
            "customer_id": cid,
        }
        if acct is not None:
            event["account_id"] = acct
        event["event_type"] = event_type
        event["payload"] = payload
        out.append(((when, aid, seq, 0), event))

    branch = f"berka.d{acc.district_id}"
    profile = {"segment": "retail", "tier": "mass", "branch_id": branch}
    profile["customer_since"] = acc.opened.isoformat()
    opened = _at(acc.opened, OPENING)
    add(opened, f"{cid}.profile", "customer.profile", profile, None)
    add(opened, f"{cid}.assigned", "customer.assigned", {"branch_id": branch}, None)
    add(
        opened,
        f"{account_id(aid)}.opened",
        "account.opened",
        {"product_kind": "demand", "currency": CURRENCY},
        account_id(aid),
    )
    for card in book.cards.get(aid, []):
        if card.issued > book.until:
            continue
        when = _at(card.issued, CARDS)
        add(
            when,
            f"berka.card{card.card_id}",
            "product.subscribed",
            {"product": "credit_card", "variant": card.card_type},
            None,
        )
        if card.card_type == "gold":
            # A gold card is the only tier signal Berka has; the profile carries it from issue on.
            add(
                when,
                f"berka.card{card.card_id}.tier",
                "customer.profile",
                {**profile, "tier": "gold"},
                None,
            )
    outstanding: dict[int, Decimal] = {}
    for loan in book.loans.get(aid, []):
        if loan.granted > book.until:
            continue
        lid = loan_id(loan.loan_id)
        when = _at(loan.granted, LOANS)
        add(
            when,
            f"{lid}.opened",
            "account.opened",
            {"product_kind": "loan", "currency": CURRENCY},
            lid,
        )
        add(when, f"{lid}.product", "product.subscribed", {"product": "loan"}, None)
        payload: dict[str, Any] = {
            "loan_id": lid,
            "amount": _money(loan.amount),
            "currency": CURRENCY,
            "maturity_date": add_months(loan.granted, loan.duration_months).isoformat(),
        }
        add(when, f"{lid}.disbursed", "loan.disbursed", payload, lid)
        outstanding[loan.loan_id] = loan.amount
    balance_on: list[tuple[date, Decimal]] = []
    paid_on: dict[int, list[date]] = defaultdict(list)  # instalment dates by loan
    day_index: dict[date, int] = defaultdict(int)
    orders = {o.order_id: o for o in book.orders.get(aid, [])}
    for t in book.trans.get(aid, []):
        p = book.postings[t.trans_id]
        when = _at(t.booked, TRANSACTIONS, day_index[t.booked])
        day_index[t.booked] += 1
        order = orders.pop(p.standing_order_id, None) if p.standing_order_id else None
        if order is not None:
            # Berka does not date its orders: an order is known from its first execution on
            add(when, standing_order_id(order.order_id), "standing_order.created",
                _standing_order(order), account_id(aid))  # fmt: skip
        payload = {
            "direction": p.direction,
            "amount": _money(t.amount),
            "currency": CURRENCY,
            "channel": p.channel,
            "category": p.category,
        }
        if p.counterparty_bank is not None:
            payload["counterparty_bank"] = p.counterparty_bank
        payload["counterparty_is_own_bank"] = p.counterparty_bank is None
        payload["balance_after"] = _money(t.balance)
        payload.update(p.facts())
        add(when, f"berka.t{t.trans_id}", "transaction.posted", payload, account_id(aid))
        balance_on.append((t.booked, t.balance))
        if p.purpose == "loan_instalment":
            granted = [
                x
                for x in book.loans.get(aid, [])
                if x.loan_id in outstanding and x.granted <= t.booked
            ]
            if granted:
                loan = granted[-1]
                paid_on[loan.loan_id].append(t.booked)
                left = max(Decimal(0), outstanding[loan.loan_id] - t.amount)
                outstanding[loan.loan_id] = left
                repaid = {
                    "loan_id": loan_id(loan.loan_id),
                    "amount": _money(t.amount),
                    "currency": CURRENCY,
                    "outstanding_after": _money(left),
                }
                add(
                    when,
                    f"berka.t{t.trans_id}.repaid",
                    "loan.repaid",
                    repaid,
                    loan_id(loan.loan_id),
                )
    out.extend(_snapshots(book, acc, cid, balance_on, seq))
    for loan in book.loans.get(aid, []):
        if loan.granted > book.until:
            continue
        lid = loan_id(loan.loan_id)
        ends = _month_ends(acc.opened, book.until)
        for a in arrears(loan=loan, paid_on=paid_on[loan.loan_id], month_ends=ends):
            payload = {
                "loan_id": lid,
                "days_past_due": a.days_past_due,
                "overdue_amount": _money(a.overdue_amount),
                "currency": CURRENCY,
            }
            event = {
                "event_id": f"{lid}.overdue.{a.as_of:%Y%m}",
                "schema_version": 1,
                "occurred_at": _at(a.as_of, ARREARS).isoformat(),
                "customer_id": cid,
                "account_id": lid,
                "event_type": "loan.overdue",
                "payload": payload,
            }
            out.append(((_at(a.as_of, ARREARS), aid, 1 << 19, loan.loan_id), event))
    if loan_status_events:
        for loan in book.loans.get(aid, []):
            if loan.granted > book.until:
                continue
            lid = loan_id(loan.loan_id)
            status = {
                "loan_id": lid,
                "classification": STATUS_CLASSIFICATION[loan.status],
                "balance": _money(outstanding[loan.loan_id]),
                "currency": CURRENCY,
            }
            event = {
                "event_id": f"{lid}.status",
                "schema_version": 1,
                "occurred_at": _at(book.until, STATUS).isoformat(),
                "customer_id": cid,
                "account_id": lid,
                "event_type": "loan.classified",
                "payload": status,
            }
            out.append(((_at(book.until, STATUS), aid, 1 << 20, loan.loan_id), event))
    return out


def _standing_order(order: Order) -> dict[str, Any]:
    kind, code = PURPOSE_FACTS.get(ORDER_PURPOSES.get(order.k_symbol, "none"), (None, None))
    payload: dict[str, Any] = {
        "standing_order_id": standing_order_id(order.order_id),
        "counterparty_id": counterparty_id_for(bank=order.bank_to, account=order.account_to),
        "counterparty_kind": kind or "unknown",
        "counterparty_bank": order.bank_to,
        "counterparty_is_own_bank": False,
        "amount": _money(order.amount),
        "currency": CURRENCY,
        "frequency": "monthly",
    }
    if code is not None:
        payload["purpose_code"] = code
    return payload


def _snapshots(
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
    for end in _month_ends(acc.opened, book.until):
        while i < len(balance_on) and balance_on[i][0] <= end:
            balance = balance_on[i][1]
            i += 1
        balances = [
            {
                "account_id": account_id(aid),
                "product_kind": "demand",
                "balance": _money(balance),
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
                        "balance": _money(left),
                        "currency": CURRENCY,
                    }
                )
        when = _at(end, SNAPSHOT)
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


def events(*, book: Book, loan_status_events: bool = False) -> list[dict[str, Any]]:
    """Every event of the selected accounts, ordered by event time (then account, then sequence)."""
    keyed: list[Keyed] = []
    for acc in book.accounts:
        keyed.extend(_account_events(book, acc, loan_status_events))
    keyed.sort(key=lambda k: k[0])
    return [event for _, event in keyed]
