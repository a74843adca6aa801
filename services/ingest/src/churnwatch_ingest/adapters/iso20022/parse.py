"""Safe parsing of ISO 20022 camt.053 (statement) and camt.054 (debit/credit notification).

Safety: the body size is checked before parsing; defusedxml refuses any DTD, entity declaration
or external reference (so no billion-laughs expansion, no XXE). Supported message versions:
camt.053.001.02/04/08 and camt.054.001.02/04/08, told apart by the document namespace. Entry
status is a plain code (``<Sts>BOOK</Sts>``) up to version 06 and ``<Sts><Cd>BOOK</Cd></Sts>``
from 08; both forms are read whatever the version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_XML_BYTES = 5 * 1024 * 1024
SUPPORTED_VERSIONS = ("02", "04", "08")
_NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"

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
    booking_date: str | None
    value_date: str | None
    reference: str | None
    bank_tx_code: tuple[str, ...]
    debtor_agent_bic: str | None
    creditor_agent_bic: str | None


@dataclass(frozen=True, slots=True)
class CamtBalance:
    """One closing balance (``Bal`` of type CLBD) of a statement."""

    account: str | None
    amount: str | None
    currency: str | None
    credit_debit: str | None
    date: str | None


@dataclass(slots=True)
class CamtMessage:
    kind: MessageKind
    version: str
    message_id: str | None
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
    accepted = ", ".join(f"{expected}.001.{v}" for v in SUPPORTED_VERSIONS)
    if kind != expected or version not in SUPPORTED_VERSIONS:
        raise CamtError(
            422, f"unsupported message {message_name!r}; this endpoint accepts {accepted}"
        )
    ns = {"c": namespace}
    container = (
        "c:BkToCstmrStmt/c:Stmt" if kind == "camt.053" else "c:BkToCstmrDbtCdtNtfctn/c:Ntfctn"
    )
    message = CamtMessage(
        kind=kind,  # type: ignore[arg-type]
        version=version,
        message_id=_text(root, "c:*/c:GrpHdr/c:MsgId", ns),
    )
    for report in root.findall(container, ns):
        account = _account(report, ns)
        for entry in report.findall("c:Ntry", ns):
            message.entries.append(_entry(entry, ns, account=account, index=len(message.entries)))
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


def _entry(entry: Element, ns: dict[str, str], *, account: str | None, index: int) -> CamtEntry:
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
    return CamtEntry(
        index=index,
        account=account,
        amount=amount.text.strip() if amount is not None and amount.text else None,
        currency=amount.get("Ccy") if amount is not None else None,
        credit_debit=_text(entry, "c:CdtDbtInd", ns),
        status=status,
        booking_date=_text(entry, "c:BookgDt/c:Dt", ns)
        or _date_part(_text(entry, "c:BookgDt/c:DtTm", ns)),
        value_date=_text(entry, "c:ValDt/c:Dt", ns)
        or _date_part(_text(entry, "c:ValDt/c:DtTm", ns)),
        reference=_text(entry, "c:AcctSvcrRef", ns) or _text(entry, "c:NtryRef", ns),
        bank_tx_code=domain or tuple(filter(None, [_text(entry, "c:BkTxCd/c:Prtry/c:Cd", ns)])),
        debtor_agent_bic=_bic(agents.find("c:DbtrAgt", ns) if agents is not None else None, ns),
        creditor_agent_bic=_bic(agents.find("c:CdtrAgt", ns) if agents is not None else None, ns),
    )


def parse_amount(text: str | None) -> Decimal | None:
    """The entry amount as a positive Decimal, or None when absent or not a number."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
