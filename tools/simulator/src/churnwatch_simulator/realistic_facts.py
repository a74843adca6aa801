"""The payment facts the realistic profile states (issue 15's contract extension).

Who is paid and why, as a bank's core system would know it: employer and pension payer of the
income, biller and insurer of each standing order, the customer's own account elsewhere when a
leaver moves money out, a person or a merchant for discretionary spending, ``unknown`` where a
real bank could not tell either (a noisy stayer's lump-sum transfer). Nothing here draws from a
customer's random stream, so adding the facts leaves every amount, day and choice of a seed as it
was. Counterparty ids are pseudonyms of stable synthetic partner accounts per customer.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from churnwatch_shared.codes import counterparty_id_for
from churnwatch_shared.fx import FxRate

# Customer-initiated contacts that are requests, not complaints: sent as ``contact.logged``.
ENQUIRY_TOPICS = frozenset({"service_enquiry", "app_issue"})
# complaint channel -> (contact kind, contact channel)
CONTACT_CHANNELS = {"branch": ("visit", "branch"), "online": ("message", "chat"),
                    "mobile": ("message", "app")}  # fmt: skip
# bill purpose -> (counterparty_kind, ISO 20022 purpose code)
BILLS = {
    "household": ("biller", "UBIL"),
    "insurance": ("insurer", "INSU"),
    "utilities": ("biller", "ELEC"),
    "loan": ("lender", "LOAR"),
}
PEOPLE_PER_CUSTOMER = 5  # the small circle of people a customer sends money to


def partner(customer_id: str, role: str) -> str:
    """The counterparty id of one of a customer's synthetic partners."""
    return counterparty_id_for(bank=None, account=f"{customer_id}:{role}")


def income(customer_id: str, income_kind: str) -> dict[str, Any]:
    """Facts of a pension or salary credit (cash income has none)."""
    if income_kind == "pension":
        return {
            "counterparty_kind": "pension_fund",
            "counterparty_id": partner(customer_id, "pension"),
            "purpose_code": "PENS",
            "income_kind": "pension",
        }
    if income_kind == "cash":
        return {}
    return {
        "counterparty_kind": "employer",
        "counterparty_id": partner(customer_id, "employer"),
        "purpose_code": "SALA",
        "bank_transaction_code": "PMNT-RCDT-SALA",
        "income_kind": "salary",
    }


def standing_order_id(customer_id: str, n: int) -> str:
    """Id of the customer's ``n``-th standing order (one per bill)."""
    return f"{customer_id}-SO{n}"


def bill(customer_id: str, n: int, purpose: str) -> dict[str, Any]:
    """Facts of one execution of the ``n``-th standing order (a bill of ``purpose``)."""
    kind, code = BILLS[purpose]
    return {
        "counterparty_kind": kind,
        "counterparty_id": partner(customer_id, f"bill{n}"),
        "purpose_code": code,
        "bank_transaction_code": "PMNT-ICDT-STDO",
        "standing_order_id": standing_order_id(customer_id, n),
    }


def standing_order(customer_id: str, n: int, purpose: str, amount: str) -> dict[str, Any]:
    """The ``standing_order.created`` payload behind ``bill``."""
    kind, code = BILLS[purpose]
    return {
        "standing_order_id": standing_order_id(customer_id, n),
        "counterparty_id": partner(customer_id, f"bill{n}"),
        "counterparty_kind": kind,
        "counterparty_is_own_bank": False,
        "amount": amount,
        "currency": "CNY",
        "purpose_code": code,
        "frequency": "monthly",
    }


def own_account_elsewhere(customer_id: str) -> dict[str, Any]:
    """A transfer to the customer's own account at another bank (money leaving)."""
    return {"counterparty_kind": "own_account", "counterparty_id": partner(customer_id, "own")}


def person(customer_id: str, n: int) -> dict[str, Any]:
    """A payment to one of the customer's circle of people."""
    return {
        "counterparty_kind": "person",
        "counterparty_id": partner(customer_id, f"person{n % PEOPLE_PER_CUSTOMER}"),
    }


MERCHANT: dict[str, Any] = {"counterparty_kind": "merchant"}
UNKNOWN: dict[str, Any] = {"counterparty_kind": "unknown"}
OWN_CARD: dict[str, Any] = {"counterparty_kind": "own_account"}  # paying off the own card


def card_variant(limit_minor: int) -> str:
    """The card type a limit suggests (gold from 50,000)."""
    return "gold" if limit_minor >= 5_000_000 else "classic"


def fx_rates(*, rates: dict[str, float], as_of: date, home: str) -> list[FxRate]:
    """The simulator's fixed rates as the FX configuration records the monitor reads."""
    return [
        FxRate(base=c, quote=home, rate=Decimal(str(r)), as_of=as_of)
        for c, r in sorted(rates.items())
    ]
