"""How one Berka transaction becomes a ``transaction.posted`` payload (the documented mapping).

The purpose code (``k_symbol``) decides first, then the operation; ``type`` gives the direction
(PRIJEM credit; VYDAJ and the rare VYBER debit). A partner bank code means the money moved to or
from another bank. Every interbank debit in the shipped prefix is the execution of a standing
order (``order`` table), so a debit that matches one is booked on the ``batch`` channel: that is
the closest the contract comes to "a recurring payee".

| k_symbol     | meaning (Berka README)        | category                     | channel | purpose           | counterparty_kind | purpose_code |
|--------------|-------------------------------|------------------------------|---------|-------------------|-------------------|--------------|
| UROK         | interest credited             | interest (credit)            | batch   | interest          |                   | INTE         |
| SANKC. UROK  | penalty interest, negative bal| penalty_interest (debit)     | batch   | penalty_interest  |                   |              |
| SLUZBY       | statement fee                 | fee                          | batch   | statement_fee     |                   |              |
| DUCHOD       | old-age pension received      | payroll_credit (reg. income) | batch   | pension           | pension_fund      | PENS         |
| SIPO         | household bills               | agency_payment               | batch*  | household         | biller            | UBIL         |
| POJISTNE     | insurance premium             | agency_payment               | batch*  | insurance         | insurer           | INSU         |
| UVER         | loan instalment               | loan_repayment               | batch*  | loan_instalment   | lender            | LOAR         |
| (empty / " ")| no purpose code: by operation |                              |         | none              | unknown (1)       |              |

DUCHOD credits carry ``income_kind=pension``. Purpose codes are the ISO 20022 ExternalPurpose1Code
equivalents (UBIL utilities, INSU insurance, LOAR loan repayment, PENS pension, INTE interest);
Berka has none for penalty interest or the statement fee. (1) A payment to or from another bank
without a purpose code is ``unknown``: Berka does not say who the partner is. 227 accounts receive
credits from one partner account in 3 or more months (123 of them with amounts within 10%):
salaries, rent or family support look alike there, so none is labelled ``employer``; the partner's
``counterparty_id`` lets the monitor see the regularity itself. Cash and the bank's own bookings
have no counterparty kind. Every posting with a partner account carries its ``counterparty_id``
(:func:`churnwatch_shared.codes.counterparty_id_for` of partner bank and account).

| operation      | category                                 | channel                      |
|----------------|------------------------------------------|------------------------------|
| VKLAD          | cash (credit)                            | branch                       |
| VYBER          | cash (debit)                             | branch                       |
| VYBER KARTOU   | cash (debit): a card withdrawal at an ATM| atm                          |
| PREVOD Z UCTU  | interbank_transfer (credit)              | batch                        |
| PREVOD NA UCET | interbank_transfer; or, when it executes a standing order whose purpose is SIPO, POJISTNE, UVER or LEASING, that purpose's category (agency_payment, loan_repayment) | batch |
| (empty)        | other                                    | batch                        |

(*) ``branch`` when paid in cash at the counter (operation VYBER, no partner bank).
"""

from __future__ import annotations

from dataclasses import dataclass

from churnwatch_berka.tables import BerkaDataError, Order, Trans
from churnwatch_shared.codes import counterparty_id_for

CURRENCY = "CZK"

# k_symbol -> (category, purpose); direction always comes from the transaction type.
K_SYMBOLS: dict[str, tuple[str, str]] = {
    "UROK": ("interest", "interest"),
    "SANKC. UROK": ("penalty_interest", "penalty_interest"),
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

# purpose -> (counterparty_kind, ISO 20022 purpose code); absent: the posting has neither.
PURPOSE_FACTS: dict[str, tuple[str | None, str | None]] = {
    "interest": (None, "INTE"),
    "pension": ("pension_fund", "PENS"),
    "household": ("biller", "UBIL"),
    "insurance": ("insurer", "INSU"),
    "loan_instalment": ("lender", "LOAR"),
    "leasing": ("lender", "LOAR"),
}
INCOME_KINDS: dict[str, str] = {"pension": "pension"}

# Standing-order purpose (order.k_symbol) -> the purpose of the payments that execute it.
ORDER_PURPOSES: dict[str, str] = {
    "SIPO": "household",
    "POJISTNE": "insurance",
    "UVER": "loan_instalment",
    "LEASING": "leasing",
    " ": "none",
    "": "none",
}


# The category of a payment whose purpose comes from its standing order.
ORDER_CATEGORIES: dict[str, str] = {
    "household": "agency_payment",
    "insurance": "agency_payment",
    "loan_instalment": "loan_repayment",
    "leasing": "loan_repayment",
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
    counterparty_kind: str | None = None
    counterparty_id: str | None = None
    purpose_code: str | None = None
    income_kind: str | None = None

    def facts(self) -> dict[str, str]:
        """The optional payment facts of the ``transaction.posted`` payload (issue 15)."""
        out: dict[str, str] = {}
        for name in ("counterparty_kind", "counterparty_id", "purpose_code", "income_kind"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.standing_order_id is not None:
            out["standing_order_id"] = standing_order_id(self.standing_order_id)
        return out


def standing_order_id(order_id: int) -> str:
    """ChurnWatch id of a Berka standing order."""
    return f"berka.o{order_id}"


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
        if order is not None:
            # the standing order it executes names the purpose the posting leaves out
            purpose = ORDER_PURPOSES.get(order.k_symbol, "none")
            category = ORDER_CATEGORIES.get(purpose, category)
    else:
        accepted = ", ".join(repr(k) for k in (*K_SYMBOLS, *sorted(NO_PURPOSE)))
        raise BerkaDataError(
            f"trans {trans.trans_id}: k_symbol {trans.k_symbol!r}; expected one of {accepted}"
        )
    kind, code = PURPOSE_FACTS.get(purpose, (None, None))
    if kind is None and trans.bank:
        kind = "unknown"
    return Posting(
        direction=direction,
        category=category,
        channel=channel,
        purpose=purpose,
        counterparty_bank=trans.bank or None,
        standing_order_id=order.order_id if order is not None else None,
        counterparty_kind=kind,
        counterparty_id=counterparty_id_for(bank=trans.bank, account=trans.partner_account)
        if trans.bank and trans.partner_account
        else None,
        purpose_code=code,
        income_kind=INCOME_KINDS.get(purpose) if direction == "credit" else None,
    )
