"""Avro schemas for the Fineract external events ChurnWatch reads, written from Fineract's field facts.

Which Fineract releases these match
-----------------------------------
* ``MessageV1`` (the envelope): the layout with ``id, source, type, category, createdAt,
  businessDate, tenantId, idempotencyKey, dataschema, data`` used by the external-events feature
  since it replaced the early ``version``/``payload`` envelope. ``id`` was ``int`` in older
  releases and ``long`` in newer ones; Avro writes both as the same zig-zag varint, so the one
  reader schema below (``long``) decodes either.
* Payloads: the field order of ``fineract-avro-schemas`` as in apache/fineract ``develop`` in
  2024-2025 (the 1.9 - 1.12 release line). Fineract's ``"bigdecimal"`` placeholder is expanded
  the way its build does (bytes, logical type decimal, precision 20, scale 8).

Prefix schemas
--------------
Avro binary has no field tags: a record is its fields' encodings back to back. Each payload
schema here therefore lists only the *leading* fields, in Fineract's order, up to the last one
ChurnWatch needs; fields Fineract appends after that point are never read, so additions at the
end of a payload do not break the adapter. A change *before* that point (a field inserted, or a
nested enum record growing) does, and the bridge dead-letters such records with the decode error.
These schemas were checked against Fineract's published ``.avsc`` sources, not against a running
Fineract instance.
"""

from __future__ import annotations

from typing import Any

from fastavro import parse_schema

_NS = "org.apache.fineract.avro"

BIGDECIMAL: dict[str, Any] = {
    "type": "bytes",
    "logicalType": "decimal",
    "precision": 20,
    "scale": 8,
}


def _opt(name: str, kind: Any) -> dict[str, Any]:
    """A nullable field with a null default, Fineract's usual shape."""
    return {"name": name, "type": ["null", kind], "default": None}


def _record(name: str, namespace: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": namespace, "fields": fields}


def _flags(*names: str) -> list[dict[str, Any]]:
    return [_opt(n, "boolean") for n in names]


MESSAGE_V1 = _record(
    "MessageV1",
    _NS,
    [
        {"name": "id", "type": "long"},
        {"name": "source", "type": "string"},
        {"name": "type", "type": "string"},
        {"name": "category", "type": "string"},
        {"name": "createdAt", "type": "string"},
        {"name": "businessDate", "type": "string"},
        {"name": "tenantId", "type": "string"},
        {"name": "idempotencyKey", "type": "string"},
        {"name": "dataschema", "type": "string"},
        {"name": "data", "type": "bytes"},
    ],
)

_G = f"{_NS}.generic.v1"
_CURRENCY = _record(
    "CurrencyDataV1",
    _G,
    [
        _opt("code", "string"),
        _opt("name", "string"),
        _opt("decimalPlaces", "int"),
        _opt("inMultiplesOf", "int"),
        _opt("displaySymbol", "string"),
        _opt("nameCode", "string"),
        _opt("displayLabel", "string"),
    ],
)
_ENUM_OPTION = _record(
    "EnumOptionDataV1", _G, [_opt("id", "int"), _opt("code", "string"), _opt("value", "string")]
)
_CODE_VALUE = _record(
    "CodeValueDataV1",
    _G,
    [
        _opt("id", "long"),
        _opt("name", "string"),
        _opt("position", "int"),
        _opt("description", "string"),
        *_flags("active", "mandatory"),
    ],
)
_PAYMENT_TYPE = _record(
    "PaymentTypeDataV1",
    f"{_NS}.payment.v1",
    [
        _opt("id", "long"),
        _opt("name", "string"),
        _opt("description", "string"),
        _opt("isCashPayment", "boolean"),
        _opt("position", "long"),
    ],
)
_PAYMENT_DETAIL = _record(
    "PaymentDetailDataV1",
    f"{_NS}.payment.v1",
    [
        _opt("id", "long"),
        _opt("paymentType", _PAYMENT_TYPE),
        *[
            _opt(n, "string")
            for n in ("accountNumber", "checkNumber", "routingCode", "receiptNumber", "bankNumber")
        ],
    ],
)

_S = f"{_NS}.savings.v1"
_SAVINGS_TX_TYPE = _record(
    "SavingsAccountTransactionEnumDataV1",
    _S,
    [
        _opt("id", "long"),
        _opt("code", "string"),
        _opt("value", "string"),
        *_flags(
            "deposit", "dividendPayout", "withdrawal", "interestPosting", "feeDeduction",
            "initiateTransfer", "approveTransfer", "withdrawTransfer", "rejectTransfer",
            "overdraftInterest", "writtenoff", "overdraftFee", "withholdTax", "escheat",
            "amountHold", "amountRelease",
        ),
    ],
)  # fmt: skip
SAVINGS_TRANSACTION = _record(
    "SavingsAccountTransactionDataV1",
    _S,
    [
        _opt("id", "long"),
        _opt("transactionType", _SAVINGS_TX_TYPE),
        _opt("accountId", "long"),
        _opt("accountNo", "string"),
        _opt("date", "string"),
        _opt("currency", _CURRENCY),
        _opt("paymentDetailData", _PAYMENT_DETAIL),
        _opt("amount", BIGDECIMAL),
        _opt("outstandingChargeAmount", BIGDECIMAL),
        _opt("runningBalance", BIGDECIMAL),
        _opt("reversed", "boolean"),
    ],
)
SAVINGS_ACCOUNT = _record(
    "SavingsAccountDataV1",
    _S,
    [
        _opt("id", "int"),
        _opt("accountNo", "string"),
        _opt("depositType", _ENUM_OPTION),
        _opt("externalId", "string"),
        _opt("groupId", "int"),
        _opt("groupName", "string"),
        _opt("clientId", "int"),
        _opt("clientName", "string"),
        _opt("savingsProductId", "int"),
        _opt("savingsProductName", "string"),
        _opt("fieldOfficerId", "int"),
    ],
)

CLIENT = _record(
    "ClientDataV1",
    f"{_NS}.client.v1",
    [
        _opt("id", "long"),
        _opt("accountNo", "string"),
        _opt("externalId", "string"),
        _opt("status", _ENUM_OPTION),
        _opt("subStatus", _CODE_VALUE),
        _opt("active", "boolean"),
        _opt("activationDate", "string"),
        *[
            _opt(n, "string")
            for n in (
                "firstname", "middlename", "lastname", "fullname", "displayName", "mobileNo",
                "emailAddress", "dateOfBirth",
            )
        ],
        _opt("gender", f"{_G}.CodeValueDataV1"),
        _opt("clientType", f"{_G}.CodeValueDataV1"),
        _opt("clientClassification", f"{_G}.CodeValueDataV1"),
        _opt("isStaff", "boolean"),
        _opt("officeId", "long"),
        _opt("officeName", "string"),
        _opt("transferToOfficeId", "long"),
        _opt("transferToOfficeName", "string"),
        _opt("imageId", "long"),
        _opt("imagePresent", "boolean"),
        _opt("staffId", "long"),
    ],
)  # fmt: skip

_L = f"{_NS}.loan.v1"
_LOAN_STATUS = _record(
    "LoanStatusEnumDataV1",
    _L,
    [
        _opt("id", "int"),
        _opt("code", "string"),
        _opt("value", "string"),
        *_flags(
            "pendingApproval", "waitingForDisbursal", "active", "closedObligationsMet",
            "closedWrittenOff", "closedRescheduled", "closed", "overpaid",
        ),
    ],
)  # fmt: skip
LOAN_ACCOUNT = _record(
    "LoanAccountDataV1",
    _L,
    [
        _opt("id", "long"),
        _opt("accountNo", "string"),
        _opt("externalId", "string"),
        _opt("status", _LOAN_STATUS),
        _opt("subStatus", _ENUM_OPTION),
        _opt("clientId", "long"),
        _opt("clientAccountNo", "string"),
        _opt("clientName", "string"),
        _opt("clientOfficeId", "long"),
        _opt("clientExternalId", "string"),
        _opt("loanProductId", "long"),
        _opt("loanProductName", "string"),
        _opt("loanProductDescription", "string"),
        _opt("isLoanProductLinkedToFloatingRate", "boolean"),
        _opt("fundId", "long"),
        _opt("fundName", "string"),
        _opt("loanPurposeId", "long"),
        _opt("loanPurposeName", "string"),
        _opt("loanOfficerId", "long"),
        _opt("loanOfficerName", "string"),
        _opt("loanType", f"{_G}.EnumOptionDataV1"),
        _opt("principal", BIGDECIMAL),
        _opt("approvedPrincipal", BIGDECIMAL),
        _opt("proposedPrincipal", BIGDECIMAL),
        _opt("netDisbursalAmount", BIGDECIMAL),
    ],
)
_LOAN_TX_TYPE = _record(
    "LoanTransactionEnumDataV1",
    _L,
    [
        _opt("id", "int"),
        _opt("code", "string"),
        _opt("value", "string"),
        *_flags(
            "disbursement", "repaymentAtDisbursement", "repayment", "merchantIssuedRefund",
            "payoutRefund", "goodwillCredit", "chargeRefund", "contra", "waiveInterest",
            "waiveCharges", "accrual", "writeOff", "recoveryRepayment", "initiateTransfer",
            "approveTransfer", "withdrawTransfer", "rejectTransfer", "chargePayment", "refund",
            "refundForActiveLoans", "creditBalanceRefund", "chargeback", "interestPaymentWaiver",
            "chargeAdjustment", "chargeoff", "downPayment", "reAge", "reAmortize",
            "accrualActivity", "interestRefund", "accrualAdjustment", "capitalizedIncome",
            "capitalizedIncomeAmortization", "capitalizedIncomeAdjustment",
            "capitalizedIncomeAmortizationAdjustment", "contractTermination", "buyDownFee",
            "buyDownFeeAdjustment", "buyDownFeeAmortization", "buyDownFeeAmortizationAdjustment",
            "loanWithdrawal",
        ),
    ],
)  # fmt: skip
LOAN_TRANSACTION = _record(
    "LoanTransactionDataV1",
    _L,
    [
        _opt("id", "long"),
        _opt("loanId", "long"),
        _opt("externalLoanId", "string"),
        _opt("officeId", "long"),
        _opt("officeName", "string"),
        _opt("type", _LOAN_TX_TYPE),
        _opt("date", "string"),
        _opt("currency", _CURRENCY),
        _opt("paymentDetailData", _PAYMENT_DETAIL),
        _opt("amount", BIGDECIMAL),
    ],
)
_AMOUNTS = ("totalAmount", "principalAmount", "interestAmount", "feeAmount", "penaltyAmount")
LOAN_REPAYMENT_DUE = _record(
    "LoanRepaymentDueDataV1",
    _L,
    [
        {"name": "loanId", "type": ["long"]},
        {"name": "loanAccountNo", "type": ["string"]},
        _opt("loanExternalId", "string"),
        _opt("currency", _CURRENCY),
        {
            "name": "installment",
            "type": [
                _record(
                    "RepaymentDueDataV1",
                    _L,
                    [
                        _opt("installmentNumber", "int"),
                        *[
                            _opt(n, BIGDECIMAL)
                            for n in (
                                "principalAmountDue", "interestAmountDue", "feeChargeAmountDue",
                                "penaltyChargeAmountDue", "totalAmountDue",
                            )
                        ],
                    ],
                )
            ],
        },
        _opt(
            "pastDueAmount",
            _record("RepaymentPastDueDataV1", _L, [_opt(n, BIGDECIMAL) for n in _AMOUNTS]),
        ),
    ],
)  # fmt: skip
LOAN_DELINQUENCY_RANGE = _record(
    "LoanAccountDelinquencyRangeDataV1",
    _L,
    [
        {"name": "loanId", "type": "long"},
        {"name": "loanAccountNo", "type": "string"},
        _opt("loanExternalId", "string"),
        _opt(
            "delinquencyRange",
            _record(
                "DelinquencyRangeDataV1",
                _L,
                [
                    _opt("id", "long"),
                    _opt("classification", "string"),
                    _opt("minimumAgeDays", "int"),
                    _opt("maximumAgeDays", "int"),
                ],
            ),
        ),
        {
            "name": "charges",
            "type": {
                "type": "array",
                "items": _record(
                    "LoanChargeDataRangeViewV1",
                    _L,
                    [
                        {"name": "id", "type": "long"},
                        {"name": "name", "type": "string"},
                        {"name": "currency", "type": [_CURRENCY]},
                        {"name": "amount", "type": BIGDECIMAL},
                    ],
                ),
            },
        },
        {"name": "currency", "type": f"{_G}.CurrencyDataV1"},
        {
            "name": "amount",
            "type": _record("LoanAmountDataV1", _L, [_opt(n, BIGDECIMAL) for n in _AMOUNTS]),
        },
        _opt("delinquentDate", "string"),
    ],
)


def _parsed(schema: dict[str, Any]) -> Any:
    return parse_schema(schema)


PARSED_MESSAGE_V1 = _parsed(MESSAGE_V1)

# Fully qualified payload schema name (MessageV1.dataschema) -> parsed reader schema.
PAYLOAD_SCHEMAS: dict[str, Any] = {
    f"{s['namespace']}.{s['name']}": _parsed(s)
    for s in (
        SAVINGS_TRANSACTION,
        SAVINGS_ACCOUNT,
        CLIENT,
        LOAN_ACCOUNT,
        LOAN_TRANSACTION,
        LOAN_REPAYMENT_DUE,
        LOAN_DELINQUENCY_RANGE,
    )
}
