"""Ground facts per customer (CSV): loan outcome A-D and counts that checks on the score can use.

Berka has no churn labels; these are the real outcomes and shapes it does have. Counts are over
the replay window (the same selection as the events); card and loan columns cover the whole data
set (1993-1998) with ``loan_in_window`` saying whether the loan's events were replayed.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from decimal import Decimal

from churnwatch_berka.book import Book, account_id, customer_id, loan_id
from churnwatch_berka.mapping import ORDER_PURPOSES

COLUMNS = (
    "customer_id",
    "client_id",
    "account_id",
    "district_id",
    "district_name",
    "region",
    "account_opened",
    "statement_frequency",
    "birth_date",
    "sex",
    "disponents",
    "card_types",
    "first_card_issued",
    "loan_id",
    "loan_granted",
    "loan_amount_czk",
    "loan_duration_months",
    "loan_status",
    "loan_in_window",
    "transactions",
    "active_months",
    "last_transaction",
    "min_balance_czk",
    "negative_balance_postings",
    "penalty_interest_postings",
    "penalty_interest_czk",
    "pension_credits",
    "household_payments",
    "insurance_payments",
    "loan_instalments",
    "interbank_debits",
    "standing_orders",
    "standing_orders_household",
    "standing_orders_insurance",
    "standing_orders_loan_instalment",
    "standing_orders_leasing",
    "standing_orders_none",
)


def _birth(birth_number: str) -> tuple[str, str]:
    """(ISO birth date, sex) from the encoded birth number (women: month + 50)."""
    yy, mm, dd = int(birth_number[:2]), int(birth_number[2:4]), int(birth_number[4:6])
    sex = "F" if mm > 50 else "M"
    return date(1900 + yy, mm - 50 if mm > 50 else mm, dd).isoformat(), sex


def rows(*, book: Book) -> list[dict[str, str]]:
    """One row per selected customer, in the order the accounts were selected."""
    clients = {c.client_id: c for c in book.data.clients}
    districts = {d.district_id: d for d in book.data.districts}
    out = []
    for acc in book.accounts:
        aid = acc.account_id
        client = clients[book.owner[aid]]
        born, sex = _birth(client.birth_number)
        district = districts.get(acc.district_id)
        trans = book.trans.get(aid, [])
        purposes = Counter(book.postings[t.trans_id].purpose for t in trans)
        penalty = [t for t in trans if book.postings[t.trans_id].purpose == "penalty_interest"]
        interbank_debits = sum(
            1 for t in trans if book.postings[t.trans_id].direction == "debit" and t.bank
        )
        orders = Counter(
            ORDER_PURPOSES.get(o.k_symbol, o.k_symbol) for o in book.orders.get(aid, [])
        )
        cards = book.cards.get(aid, [])
        loans = book.loans.get(aid, [])
        loan = loans[0] if loans else None
        row = {
            "customer_id": customer_id(client.client_id),
            "client_id": str(client.client_id),
            "account_id": account_id(aid),
            "district_id": str(acc.district_id),
            "district_name": district.name if district else "",
            "region": district.region if district else "",
            "account_opened": acc.opened.isoformat(),
            "statement_frequency": acc.frequency,
            "birth_date": born,
            "sex": sex,
            "disponents": str(book.disponents.get(aid, 0)),
            "card_types": "|".join(c.card_type for c in cards),
            "first_card_issued": cards[0].issued.isoformat() if cards else "",
            "loan_id": loan_id(loan.loan_id) if loan else "",
            "loan_granted": loan.granted.isoformat() if loan else "",
            "loan_amount_czk": str(loan.amount) if loan else "",
            "loan_duration_months": str(loan.duration_months) if loan else "",
            "loan_status": loan.status if loan else "",
            "loan_in_window": str(bool(loan and loan.granted <= book.until)).lower(),
            "transactions": str(len(trans)),
            "active_months": str(len({(t.booked.year, t.booked.month) for t in trans})),
            "last_transaction": trans[-1].booked.isoformat() if trans else "",
            "min_balance_czk": str(min((t.balance for t in trans), default=Decimal(0))),
            "negative_balance_postings": str(sum(1 for t in trans if t.balance < 0)),
            "penalty_interest_postings": str(len(penalty)),
            "penalty_interest_czk": str(sum((t.amount for t in penalty), Decimal(0))),
            "pension_credits": str(purposes["pension"]),
            "household_payments": str(purposes["household"]),
            "insurance_payments": str(purposes["insurance"]),
            "loan_instalments": str(purposes["loan_instalment"]),
            "interbank_debits": str(interbank_debits),
            "standing_orders": str(sum(orders.values())),
        }
        for purpose in ("household", "insurance", "loan_instalment", "leasing", "none"):
            row[f"standing_orders_{purpose}"] = str(orders[purpose])
        out.append(row)
    return out


def to_csv(*, rows: list[dict[str, str]]) -> str:
    """The rows as CSV text with a header line."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
