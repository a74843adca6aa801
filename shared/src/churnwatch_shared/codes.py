"""Vocabularies and code types of the payment facts a producer can state (issue 15).

They tell the monitor *what kind of money movement* a posting is, which the category alone
cannot: a debit to another bank may be a household bill, an insurance premium, a loan
instalment (recurring, not money leaving) or a transfer to the customer's own account elsewhere
(money leaving). Every field that uses them is optional; absent means "the producer did not say".
Re-exported by ``churnwatch_shared.events``.
"""

from __future__ import annotations

from enum import StrEnum
from hashlib import blake2b
from typing import Annotated, TypeAlias

from pydantic import Field, StringConstraints

from churnwatch_shared.text import Label


class CounterpartyKind(StrEnum):
    """Who is on the other side of a posting, as far as the producer can tell."""

    OWN_ACCOUNT = "own_account"  # the customer's own account (here or at another bank)
    PERSON = "person"  # another private person
    BILLER = "biller"  # utilities, telecom, rent, bundled household bills
    MERCHANT = "merchant"  # card or online purchase
    INSURER = "insurer"  # insurance premium or claim payout
    LENDER = "lender"  # loan instalment, leasing
    INVESTMENT_PLATFORM = "investment_platform"  # broker, fund platform, custody account
    EMPLOYER = "employer"  # salary payer
    PENSION_FUND = "pension_fund"  # pension payer (state or private)
    GOVERNMENT = "government"  # taxes, benefits, fines
    UNKNOWN = "unknown"  # the producer looked and could not tell (null: did not look)


class IncomeKind(StrEnum):
    """What a regular credit is, when it is income (``transaction.posted`` credits only)."""

    SALARY = "salary"
    PENSION = "pension"
    BENEFIT = "benefit"  # social security, unemployment, child benefit
    OTHER = "other"  # other regular income (rent received, maintenance)


class ContactInitiator(StrEnum):
    """Who started a contact: the customer reaching out is a churn signal, outreach is not."""

    CUSTOMER = "customer"
    BANK = "bank"


class ContactChannel(StrEnum):
    PHONE = "phone"
    BRANCH = "branch"
    EMAIL = "email"
    CHAT = "chat"
    APP = "app"
    VISIT = "visit"  # the manager visits the customer


class Frequency(StrEnum):
    """How often a standing order executes."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"
    OTHER = "other"


# ISO 20022 ExternalPurpose1Code (1-4 characters, e.g. SALA, PENS, INSU, ELEC, TAXS, LOAN, INVS)
# or a bank's proprietary purpose text (Berka's "SANKC. UROK"); up to 35 characters, one line.
PurposeCode: TypeAlias = Annotated[
    Label,
    Field(
        min_length=1,
        max_length=35,
        description="ISO 20022 ExternalPurpose1Code (e.g. SALA, PENS, INSU, ELEC, LOAN, INVS) "
        "or the bank's proprietary purpose text, up to 35 characters",
    ),
]

# ISO 20022 BankTransactionCode: Domain-Family-SubFamily, four characters each.
BankTransactionCode: TypeAlias = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$"),
    Field(
        description="ISO 20022 bank transaction code DOMAIN-FAMILY-SUBFAMILY, "
        "e.g. PMNT-RCDT-SALA (salary received), PMNT-ICDT-STDO (standing order), "
        "ACMT-MDOP-INTR (interest charged)"
    ),
]

# A contact's subject as the bank's CRM names it (e.g. complaint, service_enquiry,
# closure_enquiry, rate_enquiry, product_advice).
Topic: TypeAlias = Annotated[Label, Field(min_length=1, max_length=64)]


def counterparty_id_for(*, bank: str | None, account: str) -> str:
    """The ``counterparty_id`` every producer derives from a payee's bank and account.

    An unkeyed hash (``cp:`` + 20 hex digits of BLAKE2b over the upper-cased bank code and the
    account without spaces): every producer that names a payee by the same bank code and account
    gets the same id (camt passes no bank for an IBAN, which names its bank), and no raw account
    number travels in events. It is a pseudonym, not anonymisation: whoever holds the account
    number can recompute it.
    """
    normal = f"{(bank or '').strip().upper()}|{''.join(account.split()).upper()}"
    return f"cp:{blake2b(normal.encode(), digest_size=10).hexdigest()}"
