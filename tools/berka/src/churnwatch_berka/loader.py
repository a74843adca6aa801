"""The Berka tables as ChurnWatch events, in event-time order with stable ids.

The accounts loaded, their ids and the clock of the events are ``book``'s; each account gives
its owner's profile, assignment and opening, cards, loans (opening, disbursement, repayments),
standing orders and transactions (here), then its month-end events (``month_end``: balance
snapshots, loan arrears, loan status).

The replay window ends at ``until`` (default: the last booked transaction, 1994-03-31 for the
shipped prefix); only accounts opened by then are loaded and nothing after it is emitted, so a
replay never sees months of artificial silence after the transactions stop. Loan status (A-D) is
the outcome known at the data set's end (1998): it is ground truth (``outcomes``), not an event,
unless ``loan_status_events`` asks for it as ``loan.classified`` at the window's end. Event ids
come from the source ids, so two runs, or runs with a different ``accounts`` limit, give the same
id to the same fact.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from churnwatch_berka.arrears import add_months
from churnwatch_berka.book import (
    CARDS,
    LOANS,
    OPENING,
    TRANSACTIONS,
    Book,
    Keyed,
    account_id,
    at,
    customer_id,
    loan_id,
    money,
    select,
)
from churnwatch_berka.mapping import (
    CURRENCY,
    ORDER_PURPOSES,
    PURPOSE_FACTS,
    standing_order_id,
)
from churnwatch_berka.month_end import loan_arrears, loan_status, snapshots
from churnwatch_berka.tables import Account, Order
from churnwatch_shared.codes import counterparty_id_for

# the loader's public names before the split (tests, bench and the CLI import them from here)
__all__ = ["Book", "account_id", "customer_id", "events", "loan_id", "select"]


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
    opened = at(acc.opened, OPENING)
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
        when = at(card.issued, CARDS)
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
        when = at(loan.granted, LOANS)
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
            "amount": money(loan.amount),
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
        when = at(t.booked, TRANSACTIONS, day_index[t.booked])
        day_index[t.booked] += 1
        order = orders.pop(p.standing_order_id, None) if p.standing_order_id else None
        if order is not None:
            # Berka does not date its orders: an order is known from its first execution on
            add(when, standing_order_id(order.order_id), "standing_order.created",
                _standing_order(order), account_id(aid))  # fmt: skip
        payload = {
            "direction": p.direction,
            "amount": money(t.amount),
            "currency": CURRENCY,
            "channel": p.channel,
            "category": p.category,
        }
        if p.counterparty_bank is not None:
            payload["counterparty_bank"] = p.counterparty_bank
        payload["counterparty_is_own_bank"] = p.counterparty_bank is None
        payload["balance_after"] = money(t.balance)
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
                    "amount": money(t.amount),
                    "currency": CURRENCY,
                    "outstanding_after": money(left),
                }
                add(
                    when,
                    f"berka.t{t.trans_id}.repaid",
                    "loan.repaid",
                    repaid,
                    loan_id(loan.loan_id),
                )
    out.extend(snapshots(book, acc, cid, balance_on, seq))
    out.extend(loan_arrears(book, acc, cid, paid_on))
    if loan_status_events:
        out.extend(loan_status(book, acc, cid, outstanding))
    return out


def _standing_order(order: Order) -> dict[str, Any]:
    kind, code = PURPOSE_FACTS.get(ORDER_PURPOSES.get(order.k_symbol, "none"), (None, None))
    payload: dict[str, Any] = {
        "standing_order_id": standing_order_id(order.order_id),
        "counterparty_id": counterparty_id_for(bank=order.bank_to, account=order.account_to),
        "counterparty_kind": kind or "unknown",
        "counterparty_bank": order.bank_to,
        "counterparty_is_own_bank": False,
        "amount": money(order.amount),
        "currency": CURRENCY,
        "frequency": "monthly",
    }
    if code is not None:
        payload["purpose_code"] = code
    return payload


def events(*, book: Book, loan_status_events: bool = False) -> list[dict[str, Any]]:
    """Every event of the selected accounts, ordered by event time (then account, then sequence)."""
    keyed: list[Keyed] = []
    for acc in book.accounts:
        keyed.extend(_account_events(book, acc, loan_status_events))
    keyed.sort(key=lambda k: k[0])
    return [event for _, event in keyed]
