"""Safe parsing of ISO 20022 camt.053 (statement) and camt.054 (debit/credit notification).

Safety: the body size is checked before parsing; defusedxml refuses any DTD, entity declaration
or external reference (so no billion-laughs expansion, no XXE). Amounts are kept as text here and
checked as text (:func:`amount_or_reason`) before any ``Decimal`` is made, so an exponent such as
``1E+100000000`` costs nothing. Supported message versions: camt.053.001.02 to .13 and
camt.054.001.02 to .13, told apart by the document namespace. The parts read here are the same
in all of them except three spellings, all read whatever the version: entry status is a plain
code (``<Sts>BOOK</Sts>``) up to version 07 and ``<Sts><Cd>BOOK</Cd></Sts>`` from 08, an agent's
BIC is ``BIC`` up to 03 and ``BICFI`` from 04, and a related party's name is ``Dbtr/Nm`` up to 07
and ``Dbtr/Pty/Nm`` from 08.

Payment facts (issue 15), from the first ``NtryDtls/TxDtls``: the related parties' names and
accounts (``RltdPties``), the purpose (``Purp/Cd``, else ``Purp/Prtry``), the direct-debit mandate
(``Refs/MndtId``), the statement owner's name (``Acct/Ownr/Nm``) and a balance's credit line
(``Bal/CdtLine/Amt``). ``RmtInf`` (free text the payer wrote, often with names) and ``Chrgs``
(charges already inside the entry's amount, or booked as their own CHRG entry) are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_XML_BYTES = 5 * 1024 * 1024
SUPPORTED_VERSIONS = tuple(f"{n:02d}" for n in range(2, 14))
_NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
# ISO's ActiveOrHistoricCurrencyAndAmount: decimal text, at most 18 digits and 5 decimals, >= 0.
_ISO_AMOUNT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,5})?")
AMOUNT_HELP = (
    "plain decimal text without sign or exponent, at most 16 integer digits and 4 decimals "
    "(ISO 20022 allows 18 digits and 5 decimals; ChurnWatch's contract 16 and 4), e.g. 1234.50"
)

MessageKind = Literal["camt.053", "camt.054"]


class CamtError(Exception):
    """A message-level problem; ``status`` is the HTTP status the endpoint answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class CamtEntry:
    """One ``Ntry`` with the fields ChurnWatch maps (raw text, validated later)."""

    index: int
    account: str | None
    amount: str | None
    currency: str | None
    credit_debit: str | None
    status: str | None
    booking_date: str | None  # a date, or a date-time (BookgDt/DtTm)
    value_date: str | None
    servicer_reference: str | None  # AcctSvcrRef: unique at the bank
    entry_reference: str | None  # NtryRef: unique within its statement only
    bank_tx_code: tuple[str, ...]
    debtor_agent_bic: str | None
    creditor_agent_bic: str | None
    report_id: str = ""  # Stmt/Id (Ntfctn/Id), or its position when absent
    report_index: int = 0  # position of the entry within its statement
    created_at: str | None = None  # Stmt/CreDtTm, else GrpHdr/CreDtTm
    iso_bank_tx_code: tuple[str, str, str] | None = None  # Domn/Cd, Fmly/Cd, SubFmlyCd, all given
    purpose: str | None = None  # TxDtls/Purp/Cd, else Purp/Prtry
    mandate_id: str | None = None  # TxDtls/Refs/MndtId (direct debit under a mandate)
    debtor_name: str | None = None
    debtor_account: str | None = None
    creditor_name: str | None = None
    creditor_account: str | None = None
    owner_name: str | None = None  # Acct/Ownr/Nm of the statement


@dataclass(frozen=True, slots=True)
class CamtBalance:
    """One closing balance (``Bal`` of type CLBD) of a statement."""

    account: str | None
    amount: str | None
    currency: str | None
    credit_debit: str | None
    date: str | None
    created_at: str | None = None  # Stmt/CreDtTm, else GrpHdr/CreDtTm
    credit_line: str | None = None  # Bal/CdtLine/Amt: the overdraft limit


@dataclass(slots=True)
class CamtMessage:
    kind: MessageKind
    version: str
    message_id: str | None
    statements: int = 0
    entries: list[CamtEntry] = field(default_factory=list)
    closing_balances: list[CamtBalance] = field(default_factory=list)


def parse_camt(
    body: bytes, *, expected: MessageKind, max_bytes: int = MAX_XML_BYTES
) -> CamtMessage:
    """Parse and version-check one camt document; raises :class:`CamtError` (400/413/422)."""
    if len(body) > max_bytes:
        raise CamtError(413, f"XML body larger than {max_bytes} bytes")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise CamtError(400, f"malformed XML at line {line}, column {column}: {exc}") from exc
    except DefusedXmlException as exc:
        raise CamtError(
            400, f"forbidden XML construct (DTDs and entities are refused): {exc}"
        ) from exc
    except ValueError as exc:  # e.g. undecodable bytes
        raise CamtError(400, f"malformed XML: {exc}") from exc
    namespace, _, local = (
        root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    )
    if local != "Document" or not namespace.startswith(_NS_PREFIX):
        raise CamtError(
            422, "not an ISO 20022 Document (expected namespace urn:iso:std:iso:20022:tech:xsd:...)"
        )
    message_name = namespace[len(_NS_PREFIX) :]
    kind, _, version = message_name.rpartition(".001.")
    accepted = f"{expected}.001.{SUPPORTED_VERSIONS[0]} to {expected}.001.{SUPPORTED_VERSIONS[-1]}"
    if kind != expected or version not in SUPPORTED_VERSIONS:
        raise CamtError(
            422, f"unsupported message {message_name!r}; this endpoint accepts {accepted}"
        )
    ns = {"c": namespace}
    container = (
        "c:BkToCstmrStmt/c:Stmt" if kind == "camt.053" else "c:BkToCstmrDbtCdtNtfctn/c:Ntfctn"
    )
    message = CamtMessage(
        kind=kind,
        version=version,
        message_id=_text(root, "c:*/c:GrpHdr/c:MsgId", ns),
    )
    reports = root.findall(container, ns)
    if not reports:
        inner = container.replace("c:", "")
        raise CamtError(422, f"{kind} without {inner}: the message must hold at least one")
    message.statements = len(reports)
    sent_at = _text(root, "c:*/c:GrpHdr/c:CreDtTm", ns)
    for n, report in enumerate(reports):
        account = _account(report, ns)
        owner_name = _text(report, "c:Acct/c:Ownr/c:Nm", ns)
        report_id = _text(report, "c:Id", ns) or f"#{n}"
        created_at = _text(report, "c:CreDtTm", ns) or sent_at
        for position, entry in enumerate(report.findall("c:Ntry", ns)):
            message.entries.append(
                _entry(
                    entry,
                    ns,
                    account=account,
                    index=len(message.entries),
                    report_index=position,
                    report_id=report_id,
                    created_at=created_at,
                    owner_name=owner_name,
                )
            )
        for bal in report.findall("c:Bal", ns):
            if _text(bal, "c:Tp/c:CdOrPrtry/c:Cd", ns) == "CLBD":
                amount = bal.find("c:Amt", ns)
                message.closing_balances.append(
                    CamtBalance(
                        account=account,
                        amount=_text(bal, "c:Amt", ns),
                        currency=amount.get("Ccy") if amount is not None else None,
                        credit_debit=_text(bal, "c:CdtDbtInd", ns),
                        date=_text(bal, "c:Dt/c:Dt", ns)
                        or _date_part(_text(bal, "c:Dt/c:DtTm", ns)),
                        created_at=created_at,
                        credit_line=_text(bal, "c:CdtLine/c:Amt", ns),
                    )
                )
    return message


def _text(node: Element, path: str, ns: dict[str, str]) -> str | None:
    found = node.find(path, ns)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _date_part(value: str | None) -> str | None:
    return value[:10] if value else None


def _account(report: Element, ns: dict[str, str]) -> str | None:
    return _text(report, "c:Acct/c:Id/c:IBAN", ns) or _text(report, "c:Acct/c:Id/c:Othr/c:Id", ns)


def _bic(agent: Element | None, ns: dict[str, str]) -> str | None:
    if agent is None:
        return None
    return _text(agent, "c:FinInstnId/c:BICFI", ns) or _text(agent, "c:FinInstnId/c:BIC", ns)


def _party_account(node: Element | None, ns: dict[str, str]) -> str | None:
    if node is None:
        return None
    return _text(node, "c:Id/c:IBAN", ns) or _text(node, "c:Id/c:Othr/c:Id", ns)


def _party_name(parties: Element | None, tag: str, ns: dict[str, str]) -> str | None:
    if parties is None:
        return None
    return _text(parties, f"c:{tag}/c:Nm", ns) or _text(parties, f"c:{tag}/c:Pty/c:Nm", ns)


def _entry(
    entry: Element,
    ns: dict[str, str],
    *,
    account: str | None,
    index: int,
    report_index: int,
    report_id: str,
    created_at: str | None,
    owner_name: str | None,
) -> CamtEntry:
    amount = entry.find("c:Amt", ns)
    status = _text(entry, "c:Sts/c:Cd", ns) or _text(entry, "c:Sts", ns)
    domain = tuple(
        code
        for code in (
            _text(entry, "c:BkTxCd/c:Domn/c:Cd", ns),
            _text(entry, "c:BkTxCd/c:Domn/c:Fmly/c:Cd", ns),
            _text(entry, "c:BkTxCd/c:Domn/c:Fmly/c:SubFmlyCd", ns),
        )
        if code
    )
    agents = entry.find("c:NtryDtls/c:TxDtls/c:RltdAgts", ns)
    details = entry.find("c:NtryDtls/c:TxDtls", ns)
    parties = details.find("c:RltdPties", ns) if details is not None else None
    return CamtEntry(
        index=index,
        account=account,
        amount=amount.text.strip() if amount is not None and amount.text else None,
        currency=amount.get("Ccy") if amount is not None else None,
        credit_debit=_text(entry, "c:CdtDbtInd", ns),
        status=status,
        booking_date=_text(entry, "c:BookgDt/c:Dt", ns) or _text(entry, "c:BookgDt/c:DtTm", ns),
        value_date=_text(entry, "c:ValDt/c:Dt", ns) or _text(entry, "c:ValDt/c:DtTm", ns),
        servicer_reference=_text(entry, "c:AcctSvcrRef", ns),
        entry_reference=_text(entry, "c:NtryRef", ns),
        bank_tx_code=domain or tuple(filter(None, [_text(entry, "c:BkTxCd/c:Prtry/c:Cd", ns)])),
        debtor_agent_bic=_bic(agents.find("c:DbtrAgt", ns) if agents is not None else None, ns),
        creditor_agent_bic=_bic(agents.find("c:CdtrAgt", ns) if agents is not None else None, ns),
        report_id=report_id,
        report_index=report_index,
        created_at=created_at,
        iso_bank_tx_code=(domain[0], domain[1], domain[2]) if len(domain) == 3 else None,
        purpose=None
        if details is None
        else _text(details, "c:Purp/c:Cd", ns) or _text(details, "c:Purp/c:Prtry", ns),
        mandate_id=None if details is None else _text(details, "c:Refs/c:MndtId", ns),
        debtor_name=_party_name(parties, "Dbtr", ns),
        debtor_account=_party_account(
            parties.find("c:DbtrAcct", ns) if parties is not None else None, ns
        ),
        creditor_name=_party_name(parties, "Cdtr", ns),
        creditor_account=_party_account(
            parties.find("c:CdtrAcct", ns) if parties is not None else None, ns
        ),
        owner_name=owner_name,
    )


def amount_or_reason(text: str | None, *, where: str) -> Decimal | str:
    """The amount as a non-negative Decimal, or why ``text`` is refused (checked as text first)."""
    if text is None:
        return f"{where} is missing; accepted: {AMOUNT_HELP}"
    if not _ISO_AMOUNT.fullmatch(text):
        shown = text if len(text) <= 32 else f"{text[:32]}..."
        return f"{where} {shown!r} is not an accepted amount: {AMOUNT_HELP}"
    whole, _, fraction = text.partition(".")
    whole, fraction = whole.lstrip("0") or "0", fraction.rstrip("0")
    if len(whole) > 16 or len(fraction) > 4:
        return f"{where} {text!r} is out of range: {AMOUNT_HELP}"
    # Only bounded text (<= 21 characters) reaches Decimal.
    return Decimal(f"{whole}.{fraction}" if fraction else whole)
