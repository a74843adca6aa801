"""Build Fineract MessageV1 records and camt.053/054 documents from their documented fields."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from fastavro import parse_schema, schemaless_writer

from churnwatch_ingest.adapters.fineract import schemas
from churnwatch_ingest.adapters.fineract.mapping import (  # noqa: F401 (re-exported for tests)
    CLIENT,
    LOAN_ACCOUNT,
    LOAN_DELINQUENCY,
    LOAN_DUE,
    LOAN_TX,
    SAVINGS_ACCOUNT,
    SAVINGS_TX,
)

_MESSAGE_INT_ID = parse_schema(
    {
        **schemas.MESSAGE_V1,
        "fields": [{"name": "id", "type": "int"}, *schemas.MESSAGE_V1["fields"][1:]],
    }
)
_WRITERS = {name: s for name, s in schemas.PAYLOAD_SCHEMAS.items()}


def avro(schema: Any, record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    schemaless_writer(out, schema, record)
    return out.getvalue()


def fineract_record(
    *,
    event_type: str,
    dataschema: str,
    payload: dict[str, Any],
    key: str,
    tenant: str = "default",
    msg_id: int = 1,
    int_id: bool = False,
    single_object: bool = False,
    created_at: str = "2025-03-01T10:15:30",
) -> bytes:
    """A Kafka record value: MessageV1 (id int or long) wrapping the Avro payload."""
    data = avro(_WRITERS[dataschema], payload)
    if single_object:
        data = b"\xc3\x01" + b"\x00" * 8 + data
    envelope = {
        "id": msg_id,
        "source": "fineract-test",
        "type": event_type,
        "category": event_type.split("Business")[0],
        "createdAt": created_at,
        "businessDate": created_at[:10],
        "tenantId": tenant,
        "idempotencyKey": key,
        "dataschema": dataschema,
        "data": data,
    }
    return avro(_MESSAGE_INT_ID if int_id else schemas.PARSED_MESSAGE_V1, envelope)


CNY = {"code": "CNY", "name": "Yuan", "decimalPlaces": 2}


def savings_account(account_id: int, client_id: int) -> dict[str, Any]:
    return {"id": account_id, "accountNo": f"SA{account_id:06d}", "clientId": client_id}


def savings_tx(account_id: int, amount: str, balance: str, **type_flags: bool) -> dict[str, Any]:
    return {
        "id": 900,
        "transactionType": {"id": 1, "code": "savingsAccountTransactionType", **type_flags},
        "accountId": account_id,
        "date": "2025-03-01",
        "currency": CNY,
        "amount": Decimal(amount),
        "runningBalance": Decimal(balance),
        "reversed": False,
    }


def client(client_id: int, *, staff_id: int | None = 7, office_id: int = 1) -> dict[str, Any]:
    return {
        "id": client_id,
        "accountNo": f"C{client_id}",
        "status": {"id": 300, "code": "clientStatusType.active", "value": "Active"},
        "active": True,
        "activationDate": "2020-01-15",
        "displayName": "Test Client",
        "officeId": office_id,
        "staffId": staff_id,
    }


def loan_account(loan_id: int, client_id: int, principal: str) -> dict[str, Any]:
    return {
        "id": loan_id,
        "accountNo": f"L{loan_id}",
        "status": {"id": 300, "code": "loanStatusType.active", "active": True},
        "clientId": client_id,
        "principal": Decimal(principal),
        "netDisbursalAmount": Decimal(principal),
    }


def loan_tx(loan_id: int, amount: str) -> dict[str, Any]:
    return {
        "id": 77,
        "loanId": loan_id,
        "type": {"id": 2, "code": "loanTransactionType.repayment", "repayment": True},
        "date": "2025-03-01",
        "currency": CNY,
        "amount": Decimal(amount),
    }


def loan_due(loan_id: int, past_due: str) -> dict[str, Any]:
    return {
        "loanId": loan_id,
        "loanAccountNo": f"L{loan_id}",
        "currency": CNY,
        "installment": {"installmentNumber": 3, "totalAmountDue": Decimal(100)},
        "pastDueAmount": {"totalAmount": Decimal(past_due)},
    }


def loan_delinquency(loan_id: int, min_days: int, total: str) -> dict[str, Any]:
    return {
        "loanId": loan_id,
        "loanAccountNo": f"L{loan_id}",
        "delinquencyRange": {"id": 2, "classification": "RANGE_30", "minimumAgeDays": min_days},
        "charges": [{"id": 1, "name": "late fee", "currency": CNY, "amount": Decimal(5)}],
        "currency": CNY,
        "amount": {"totalAmount": Decimal(total)},
    }


# --- camt ---------------------------------------------------------------------------------------


def _status(code: str, version: str) -> str:
    return f"<Sts><Cd>{code}</Cd></Sts>" if int(version) >= 8 else f"<Sts>{code}</Sts>"


def _agent(tag: str, bic: str, version: str) -> str:
    element = "BIC" if int(version) <= 3 else "BICFI"
    return f"<{tag}><FinInstnId><{element}>{bic}</{element}></FinInstnId></{tag}>"


def camt_entry(
    *,
    version: str,
    amount: str,
    cd: str,
    status: str = "BOOK",
    ref: str = "REF1",
    agent_bic: str | None = None,
    ccy: str = "CNY",
    family: tuple[str, str, str] = ("PMNT", "ICDT", "DMCT"),
    day: str = "2025-03-01",
) -> str:
    agents = ""
    if agent_bic:
        tag = "CdtrAgt" if cd == "DBIT" else "DbtrAgt"
        agents = f"<NtryDtls><TxDtls><RltdAgts>{_agent(tag, agent_bic, version)}</RltdAgts></TxDtls></NtryDtls>"
    return (
        f'<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>'
        f"{_status(status, version)}<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{ref}</AcctSvcrRef><BkTxCd><Domn><Cd>{family[0]}</Cd><Fmly><Cd>{family[1]}</Cd>"
        f"<SubFmlyCd>{family[2]}</SubFmlyCd></Fmly></Domn></BkTxCd>{agents}</Ntry>"
    )


def _party(tag: str, name: str | None, account: str | None, version: str) -> str:
    out = ""
    if name:
        # PartyIdentification up to version 07, the Party40Choice (Pty) from 08
        inner = f"<Nm>{name}</Nm>"
        out += (
            f"<{tag}><Pty>{inner}</Pty></{tag}>" if int(version) >= 8 else f"<{tag}>{inner}</{tag}>"
        )
    if account:
        ident = (
            f"<IBAN>{account}</IBAN>"
            if account[:2].isalpha() and account[2:4].isdigit()
            else (f"<Othr><Id>{account}</Id></Othr>")
        )
        out += f"<{tag}Acct><Id>{ident}</Id></{tag}Acct>"
    return out


def camt_payment(
    *,
    version: str,
    amount: str,
    cd: str,
    ref: str,
    family: tuple[str, str, str],
    counterparty_name: str | None = None,
    counterparty_account: str | None = None,
    agent_bic: str | None = None,
    purpose: str | None = None,
    proprietary_purpose: str | None = None,
    mandate_id: str | None = None,
    ccy: str = "EUR",
    day: str = "2025-03-03",
) -> str:
    """One booked entry with the transaction details a bank's statement carries (RltdPties,
    RltdAgts, Purp, Refs/MndtId, RmtInf), the counterparty on the side the direction implies."""
    side = "Cdtr" if cd == "DBIT" else "Dbtr"
    refs = (
        f"<Refs><EndToEndId>E2E-{ref}</EndToEndId>"
        + (f"<MndtId>{mandate_id}</MndtId>" if mandate_id else "")
        + "</Refs>"
    )
    parties = _party(side, counterparty_name, counterparty_account, version)
    agents = f"<RltdAgts>{_agent(f'{side}Agt', agent_bic, version)}</RltdAgts>" if agent_bic else ""
    purp = ""
    if purpose:
        purp = f"<Purp><Cd>{purpose}</Cd></Purp>"
    elif proprietary_purpose:
        purp = f"<Purp><Prtry>{proprietary_purpose}</Prtry></Purp>"
    details = (
        f"<NtryDtls><TxDtls>{refs}<RltdPties>{parties}</RltdPties>{agents}{purp}"
        f"<RmtInf><Ustrd>Invoice 2025-03 Jan Novak</Ustrd></RmtInf></TxDtls></NtryDtls>"
    )
    return (
        f'<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>'
        f"{_status('BOOK', version)}<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{ref}</AcctSvcrRef><BkTxCd><Domn><Cd>{family[0]}</Cd><Fmly><Cd>{family[1]}</Cd>"
        f"<SubFmlyCd>{family[2]}</SubFmlyCd></Fmly></Domn></BkTxCd>{details}</Ntry>"
    )


def camt(
    *,
    kind: str,
    version: str,
    entries: list[str],
    iban: str | None = "CN0012345678",
    other_id: str | None = None,
    closing: tuple[str, str] | None = None,
    day: str = "2025-03-01",
    msg_id: str | None = None,
    owner_name: str | None = None,
    credit_line: str | None = None,
) -> bytes:
    ns = f"urn:iso:std:iso:20022:tech:xsd:{kind}.001.{version}"
    acct_id = f"<IBAN>{iban}</IBAN>" if iban else f"<Othr><Id>{other_id}</Id></Othr>"
    owner = f"<Ownr><Nm>{owner_name}</Nm></Ownr>" if owner_name else ""
    bal = ""
    if closing:
        line = ""
        if credit_line:
            line = f'<CdtLine><Incl>true</Incl><Amt Ccy="CNY">{credit_line}</Amt></CdtLine>'
        bal = (
            f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>{line}<Amt Ccy="CNY">{closing[0]}</Amt>'
            f"<CdtDbtInd>{closing[1]}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
        )
    if kind == "camt.053":
        outer, inner = "BkToCstmrStmt", "Stmt"
    else:
        outer, inner = "BkToCstmrDbtCdtNtfctn", "Ntfctn"
    body = "".join(entries)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}">\n<{outer}>'
        f"<GrpHdr><MsgId>{msg_id or f'MSG-{kind}-{version}'}</MsgId><CreDtTm>{day}T18:00:00</CreDtTm></GrpHdr>"
        f"<{inner}><Id>S1</Id><Acct><Id>{acct_id}</Id>{owner}</Acct>{bal}{body}</{inner}></{outer}>\n</Document>"
    ).encode()
