"""How one Berka transaction becomes a ``transaction.posted`` payload (the documented mapping).

The purpose code (``k_symbol``) decides first, then the operation; ``type`` gives the direction
(PRIJEM credit; VYDAJ and the rare VYBER debit). A partner bank code means the money moved to or
from another bank. Every interbank debit in the shipped prefix is the execution of a standing
order (``order`` table), so a debit that matches one is booked on the ``batch`` channel: that is
the closest the contract comes to "a recurring payee".

| k_symbol     | meaning (Berka README)        | category                     | channel | purpose           |
|--------------|-------------------------------|------------------------------|---------|-------------------|
| UROK         | interest credited             | interest (credit)            | batch   | interest          |
| SANKC. UROK  | penalty interest, negative bal| interest (debit)             | batch   | penalty_interest  |
| SLUZBY       | statement fee                 | fee                          | batch   | statement_fee     |
| DUCHOD       | old-age pension received      | payroll_credit (reg. income) | batch   | pension           |
| SIPO         | household bills               | agency_payment               | batch*  | household         |
| POJISTNE     | insurance premium             | agency_payment               | batch*  | insurance         |
| UVER         | loan instalment               | loan_repayment               | batch*  | loan_instalment   |
| (empty / " ")| no purpose code: by operation |                              |         | none              |

| operation      | category                                 | channel                      |
|----------------|------------------------------------------|------------------------------|
| VKLAD          | cash (credit)                            | branch                       |
| VYBER          | cash (debit)                             | branch                       |
| VYBER KARTOU   | cash (debit): a card withdrawal at an ATM| atm                          |
| PREVOD Z UCTU  | interbank_transfer (credit)              | batch                        |
| PREVOD NA UCET | interbank_transfer, or loan_repayment when its standing order is LEASING | batch |
| (empty)        | other                                    | batch                        |

(*) ``branch`` when paid in cash at the counter (operation VYBER, no partner bank).
"""

from __future__ import annotations

from dataclasses import dataclass

from churnwatch_berka.tables import BerkaDataError, Order, Trans

CURRENCY = "CZK"

# k_symbol -> (category, purpose); direction always comes from the transaction type.
K_SYMBOLS: dict[str, tuple[str, str]] = {
    "UROK": ("interest", "interest"),
    "SANKC. UROK": ("interest", "penalty_interest"),
    "SLUZBY": ("fee", "statement_fee"),
    "DUCHOD": ("payroll_credit", "pension"),
    "SIPO": ("agency_payment", "household"),
    "POJISTNE": ("agency_payment", "insurance"),
    "UVER": ("loan_repayment", "loan_instalment"),
}
# Codes of the k_symbol column that mean "no purpose code".
NO_PURPOSE = frozenset({"", " "})

# operation -> (category, channel) for postings without a purpose code.
OPERATIONS: dict[str, tuple[str, str]] = {
    "VKLAD": ("cash", "branch"),
    "VYBER": ("cash", "branch"),
    "VYBER KARTOU": ("cash", "atm"),
    "PREVOD Z UCTU": ("interbank_transfer", "batch"),
    "PREVOD NA UCET": ("interbank_transfer", "batch"),
    "": ("other", "batch"),
}
BANK_BOOKED = frozenset({"interest", "penalty_interest", "statement_fee"})

# Standing-order purpose (order.k_symbol) -> the purpose of the payments that execute it.
ORDER_PURPOSES: dict[str, str] = {
    "SIPO": "household",
    "POJISTNE": "insurance",
    "UVER": "loan_instalment",
    "LEASING": "leasing",
    " ": "none",
    "": "none",
}


@dataclass(frozen=True, slots=True)
class Posting:
    """One mapped transaction: the payload fields and the Berka purpose it came from."""

    direction: str
    category: str
    channel: str
    purpose: str
    counterparty_bank: str | None
    standing_order_id: int | None


def classify(*, trans: Trans, order: Order | None) -> Posting:
    """Map one transaction (and the standing order it executes, if any) to payload fields."""
    direction = "credit" if trans.type == "PRIJEM" else "debit"
    if trans.operation not in OPERATIONS:
        accepted = ", ".join(repr(k) for k in OPERATIONS)
        raise BerkaDataError(
            f"trans {trans.trans_id}: operation {trans.operation!r}; expected one of {accepted}"
        )
    op_category, op_channel = OPERATIONS[trans.operation]
    if trans.k_symbol in K_SYMBOLS:
        category, purpose = K_SYMBOLS[trans.k_symbol]
        channel = "batch" if purpose in BANK_BOOKED or trans.bank else op_channel
    elif trans.k_symbol in NO_PURPOSE:
        category, channel, purpose = op_category, op_channel, "none"
        if order is not None and order.k_symbol == "LEASING":
            category, purpose = "loan_repayment", "leasing"
    else:
        accepted = ", ".join(repr(k) for k in (*K_SYMBOLS, *sorted(NO_PURPOSE)))
        raise BerkaDataError(
            f"trans {trans.trans_id}: k_symbol {trans.k_symbol!r}; expected one of {accepted}"
        )
    return Posting(
        direction=direction,
        category=category,
        channel=channel,
        purpose=purpose,
        counterparty_bank=trans.bank or None,
        standing_order_id=order.order_id if order is not None else None,
    )
