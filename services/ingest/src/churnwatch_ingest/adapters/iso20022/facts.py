"""The payment facts of a camt entry: counterparty kind and id, purpose, bank transaction code,
mandate, income kind, and penalty interest (issue 15).

Evidence, strongest first:

1. the counterparty's account belongs to the same customer (the account-owner index), or the
   counterparty's name equals the statement owner's name (``Acct/Ownr/Nm``, compared ignoring
   case and extra spaces): ``own_account``;
2. the ISO 20022 purpose code (ExternalPurpose1Code: SALA, PENS, INSU, ELEC, LOAN, INVS...);
3. the ISO 20022 bank transaction code (``PMNT-RCDT-SALA`` salary, ``SECU-*`` securities,
   ``LDAS-*`` loans and deposits, card payments ``*-POSD``/``POSP``/``POSC``/``SMRT``).

A counterparty that is named or has an account but matches none of them is ``unknown``; without
any counterparty (fees, interest) the kind stays absent.

Penalty interest: interest *debited* outside the loans-and-deposits domain (``INTR`` on a current
account: a current account is charged interest only on a negative balance) and the overdraft
charge ``OVCH``. Interest credited stays ``interest``; loan interest (``LDAS``) is not overdraft.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from churnwatch_ingest.adapters.iso20022.parse import CamtEntry
from churnwatch_shared.codes import counterparty_id_for

_PURPOSE_KIND: Final = {
    **dict.fromkeys(("SALA", "BONU"), "employer"),
    "PENS": "pension_fund",
    **dict.fromkeys(("BENE", "SSBE", "GOVT", "TAXS", "VATX", "NITX", "WHLD"), "government"),
    **dict.fromkeys(("INSU", "LIFI", "PPTI", "HLTI", "INPC"), "insurer"),
    **dict.fromkeys(
        ("ELEC", "GASB", "WTER", "PHON", "CBTV", "NWCH", "OTLC", "UBIL", "RENT"), "biller"
    ),
    **dict.fromkeys(("LOAN", "LOAR", "HLRP"), "lender"),
    **dict.fromkeys(("INVS", "SECU"), "investment_platform"),
    "GDDS": "merchant",
    "ACCT": "own_account",  # between two accounts of the same holder at the same bank
}
_PURPOSE_INCOME: Final = {
    "SALA": "salary",
    "BONU": "salary",
    "PENS": "pension",
    "BENE": "benefit",
    "SSBE": "benefit",
}
_SUBFAMILY_KIND: Final = {
    "SALA": "employer",
    "XBSA": "employer",  # cross-border salary
    "POSD": "merchant",
    "POSP": "merchant",
    "POSC": "merchant",
    "SMRT": "merchant",
    "SUBS": "investment_platform",  # fund subscription
    "REDM": "investment_platform",
    "COAT": "own_account",  # own account transfer
}
_DOMAIN_KIND: Final = {"SECU": "investment_platform", "LDAS": "lender"}
_SALARY_SUBFAMILIES: Final = frozenset({"SALA", "XBSA"})
_CODE: Final = re.compile(r"[A-Z0-9]{4}")
_LABEL_REFUSED: Final = re.compile("[\x00-\x1f\x7f-\x9f]")
_SAFE_ID: Final = re.compile(r"[^A-Za-z0-9._:@/-]")

OwnerLookup = Callable[[str], str | None]


def _same_name(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def penalty_interest(entry: CamtEntry, *, debit: bool) -> bool:
    """Whether the entry is interest or a charge for an overdrawn balance."""
    code = entry.iso_bank_tx_code
    if code is None:
        return False
    domain, _, subfamily = code
    return subfamily == "OVCH" or (debit and subfamily == "INTR" and domain != "LDAS")


def payment_facts(
    entry: CamtEntry, *, debit: bool, customer: str, agent_bic: str | None, owner_of: OwnerLookup
) -> dict[str, Any]:
    """The optional ``transaction.posted`` fields this entry supports (absent when unsupported)."""
    facts: dict[str, Any] = {}
    code = entry.iso_bank_tx_code
    if code is not None and all(_CODE.fullmatch(c) for c in code):
        facts["bank_transaction_code"] = "-".join(code)
    else:
        code = None
    purpose = entry.purpose
    if purpose is not None and (len(purpose) > 35 or _LABEL_REFUSED.search(purpose)):
        purpose = None
    if purpose is not None:
        facts["purpose_code"] = purpose
    if entry.mandate_id:
        facts["standing_order_id"] = _identifier(f"mandate:{entry.mandate_id}")
    name = entry.creditor_name if debit else entry.debtor_name
    account = entry.creditor_account if debit else entry.debtor_account
    if account:
        # an IBAN names its bank; any other id is only unique with the agent's bank code
        bank = None if _looks_like_iban(account) else (agent_bic or "")[:8]
        facts["counterparty_id"] = counterparty_id_for(bank=bank, account=account)
    kind = _kind(code, purpose)
    if (account and owner_of(account) == customer) or _same_name(name, entry.owner_name):
        kind = "own_account"
    if kind is None and (account or name):
        kind = "unknown"
    if kind is not None:
        facts["counterparty_kind"] = kind
    if not debit:
        income = _PURPOSE_INCOME.get(purpose or "")
        if income is None and code is not None and code[2] in _SALARY_SUBFAMILIES:
            income = "salary"
        if income is not None:
            facts["income_kind"] = income
    return facts


def _kind(code: tuple[str, str, str] | None, purpose: str | None) -> str | None:
    if purpose is not None and purpose in _PURPOSE_KIND:
        return _PURPOSE_KIND[purpose]
    if code is None:
        return None
    return _SUBFAMILY_KIND.get(code[2]) or _DOMAIN_KIND.get(code[0])


def _looks_like_iban(account: str) -> bool:
    compact = "".join(account.split())
    return 15 <= len(compact) <= 34 and compact[:2].isalpha() and compact[2:4].isdigit()


def _identifier(text: str) -> str:
    return _SAFE_ID.sub("-", text)[:128]
