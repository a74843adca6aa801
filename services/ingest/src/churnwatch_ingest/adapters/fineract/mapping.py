"""Fineract business events -> ChurnWatch events.

Identifiers: customer ``fineract:<tenant>:client:<clientId>``, accounts
``fineract:<tenant>:savings:<id>`` / ``fineract:<tenant>:loan:<id>``, relationship manager
``fineract:<tenant>:staff:<staffId>`` (the client's assigned staff member), branch
``fineract:<tenant>:office:<officeId>``. ``idempotencyKey`` is the ``event_id`` (with a ``:<part>``
suffix when one Fineract event yields several of ours). ``createdAt`` (UTC local time) is
``occurred_at``. Savings and loan transactions find their customer in the account-owner index,
which the savings/loan/client account events fill; a transaction on an unknown account is
refused (dead-lettered), never guessed.

Loan currency: ``LoanAccountDataV1`` carries its currency far behind the fields read here, so
``loan.disbursed`` uses the currency learnt from the loan's earlier transactions or, failing
that, :attr:`FineractMappingConfig.default_currency`. ``LoanRepaymentOverdueBusinessEvent``
has no day count, so it reports :attr:`FineractMappingConfig.overdue_event_days`.

Payment facts (issue 15): overdraft interest and the overdraft fee are ``penalty_interest``;
withheld tax is a ``fee`` to ``government``. A payment detail's ``accountNumber`` (with its
``bankNumber``) becomes the hashed ``counterparty_id``; when that number is one of the same
client's savings accounts (learnt from the savings account events this process has seen: an
``accountNo`` is not our account id, and a restart forgets them until the accounts are seen
again) the counterparty is ``own_account``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from churnwatch_ingest.adapters.accounts import AccountOwners
from churnwatch_ingest.adapters.fineract.decode import (
    FineractMessage,
    MalformedRecord,
    decimal_or_reason,
    decode_payload,
)
from churnwatch_shared.codes import counterparty_id_for
from churnwatch_shared.events import Event, parse_event_obj

_NS = "org.apache.fineract.avro"
SAVINGS_TX = f"{_NS}.savings.v1.SavingsAccountTransactionDataV1"
SAVINGS_ACCOUNT = f"{_NS}.savings.v1.SavingsAccountDataV1"
CLIENT = f"{_NS}.client.v1.ClientDataV1"
LOAN_ACCOUNT = f"{_NS}.loan.v1.LoanAccountDataV1"
LOAN_TX = f"{_NS}.loan.v1.LoanTransactionDataV1"
LOAN_DUE = f"{_NS}.loan.v1.LoanRepaymentDueDataV1"
LOAN_DELINQUENCY = f"{_NS}.loan.v1.LoanAccountDelinquencyRangeDataV1"

# Fineract event type -> the payload schema it carries.
SUPPORTED_TYPES: dict[str, str] = {
    "SavingsDepositBusinessEvent": SAVINGS_TX,
    "SavingsWithdrawalBusinessEvent": SAVINGS_TX,
    "SavingsCreateBusinessEvent": SAVINGS_ACCOUNT,
    "SavingsApproveBusinessEvent": SAVINGS_ACCOUNT,
    "SavingsActivateBusinessEvent": SAVINGS_ACCOUNT,
    "SavingsCloseBusinessEvent": SAVINGS_ACCOUNT,
    "ClientCreateBusinessEvent": CLIENT,
    "ClientActivateBusinessEvent": CLIENT,
    "ClientCloseBusinessEvent": CLIENT,
    "LoanApprovedBusinessEvent": LOAN_ACCOUNT,
    "LoanDisbursalBusinessEvent": LOAN_ACCOUNT,
    "LoanTransactionMakeRepaymentPostBusinessEvent": LOAN_TX,
    "LoanRepaymentOverdueBusinessEvent": LOAN_DUE,
    "LoanDelinquencyRangeChangeBusinessEvent": LOAN_DELINQUENCY,
}


@dataclass(frozen=True, slots=True)
class FineractMappingConfig:
    """Choices the Fineract payloads leave open."""

    default_currency: str = "USD"
    overdue_event_days: int = 1


@dataclass(slots=True)
class Mapped:
    """What one Fineract record became: events to publish, or a reason it was skipped."""

    events: list[Event] = field(default_factory=list)
    skipped: str | None = None


class FineractMapper:
    """Maps decoded Fineract messages, learning account ownership as it goes."""

    def __init__(
        self, *, owners: AccountOwners, config: FineractMappingConfig | None = None
    ) -> None:
        self._owners = owners
        self._config = config or FineractMappingConfig()
        self._loan_currency: dict[str, str] = {}
        self._account_no_owner: dict[str, str] = {}  # Fineract accountNo -> our customer id

    def map(self, message: FineractMessage) -> Mapped:
        """Map one message; raises :class:`MalformedRecord` for records that must be dead-lettered."""
        schema = SUPPORTED_TYPES.get(message.type)
        if schema is None:
            return Mapped(skipped=f"unsupported type {message.type[:100]}")
        data = decode_payload(message, expected_schema=schema)
        ctx = _Ctx(message)
        handler = getattr(self, f"_{schema.rsplit('.', 1)[-1]}")
        raw_events: list[dict[str, Any]] | str = handler(ctx, data)
        if isinstance(raw_events, str):
            return Mapped(skipped=raw_events)
        events: list[Event] = []
        for obj in raw_events:
            try:
                events.append(parse_event_obj(obj))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise MalformedRecord(f"invalid_mapping: {where}: {first['msg']}") from exc
        for event in events:
            self._owners.observe(event, source=f"fineract:{message.tenant_id}")
        return Mapped(events=events)

    # --- payload handlers (named after the payload schema) ----------------------------------

    def _SavingsAccountTransactionDataV1(
        self, ctx: _Ctx, d: dict[str, Any]
    ) -> list[dict[str, Any]] | str:
        if d.get("reversed"):
            return "reversed transaction"
        account = ctx.savings(_need(d, "accountId"))
        customer = self._owner(account)
        tx_type = d.get("transactionType") or {}
        direction = "credit" if ctx.message.type == "SavingsDepositBusinessEvent" else "debit"
        payment_type = (d.get("paymentDetailData") or {}).get("paymentType") or {}
        category, channel = _savings_category(tx_type, payment_type)
        payload: dict[str, Any] = {
            "direction": direction,
            "amount": _money(_dec(_need(d, "amount"), "amount")),
            "currency": _need(d.get("currency") or {}, "code"),
            "channel": channel,
            "category": category,
            "counterparty_is_own_bank": True,
        }
        if tx_type.get("withholdTax"):
            payload["counterparty_kind"] = "government"
        detail = d.get("paymentDetailData") or {}
        number = detail.get("accountNumber")
        if number:
            payload["counterparty_id"] = counterparty_id_for(
                bank=detail.get("bankNumber"), account=number
            )
            if self._account_no_owner.get(number) == customer:
                payload["counterparty_kind"] = "own_account"
        if d.get("runningBalance") is not None:
            payload["balance_after"] = _money(_dec(d["runningBalance"], "runningBalance"))
        return [ctx.event("transaction.posted", customer, payload, account_id=account)]

    def _SavingsAccountDataV1(self, ctx: _Ctx, d: dict[str, Any]) -> list[dict[str, Any]] | str:
        account = ctx.savings(_need(d, "id"))
        if d.get("clientId") is None:
            return "savings account without a client (group account)"
        customer = ctx.client(d["clientId"])
        self._owners.remember(account_id=account, customer_id=customer, source=ctx.source)
        if d.get("accountNo"):
            self._account_no_owner[d["accountNo"]] = customer
        if ctx.message.type != "SavingsCloseBusinessEvent":
            return []
        payload = {"product_kind": "demand", "reason": "closed in Fineract"}
        return [ctx.event("account.closed", customer, payload, account_id=account)]

    def _ClientDataV1(self, ctx: _Ctx, d: dict[str, Any]) -> list[dict[str, Any]] | str:
        customer = ctx.client(_need(d, "id"))
        if ctx.message.type == "ClientCloseBusinessEvent":
            accounts = self._owners.accounts_of(customer)
            if not accounts:
                return "client closed with no known accounts"
            return [
                ctx.event(
                    "account.closed",
                    customer,
                    {
                        "product_kind": "loan" if ":loan:" in a else "demand",
                        "reason": "client closed",
                    },
                    account_id=a,
                    part=f"closed:{n}",
                )
                for n, a in enumerate(accounts)
            ]
        events: list[dict[str, Any]] = []
        if d.get("officeId") is not None:
            profile: dict[str, Any] = {
                "segment": "retail",
                "tier": "mass",
                "branch_id": ctx.ident("office", d["officeId"]),
            }
            if d.get("activationDate"):
                profile["customer_since"] = _date(d["activationDate"])
            if d.get("displayName"):
                profile["display_name"] = d["displayName"][:200]
            events.append(ctx.event("customer.profile", customer, profile, part="profile"))
        if d.get("staffId") is not None:
            assigned = {"relationship_manager_id": ctx.ident("staff", d["staffId"])}
            if d.get("officeId") is not None:
                assigned["branch_id"] = ctx.ident("office", d["officeId"])
            events.append(ctx.event("customer.assigned", customer, assigned, part="assigned"))
        return events or "client without office or staff"

    def _LoanAccountDataV1(self, ctx: _Ctx, d: dict[str, Any]) -> list[dict[str, Any]] | str:
        loan = ctx.loan(_need(d, "id"))
        customer = ctx.client(_need(d, "clientId"))
        self._owners.remember(account_id=loan, customer_id=customer, source=ctx.source)
        if ctx.message.type != "LoanDisbursalBusinessEvent":
            return []
        amount = _dec(d.get("netDisbursalAmount"), "netDisbursalAmount") or _dec(
            d.get("principal"), "principal"
        )
        currency = self._loan_currency.get(loan, self._config.default_currency)
        payload = {"loan_id": loan, "amount": _money(amount), "currency": currency}
        return [ctx.event("loan.disbursed", customer, payload, account_id=loan)]

    def _LoanTransactionDataV1(self, ctx: _Ctx, d: dict[str, Any]) -> list[dict[str, Any]] | str:
        loan = ctx.loan(_need(d, "loanId"))
        customer = self._owner(loan)
        currency = _need(d.get("currency") or {}, "code")
        self._loan_currency[loan] = currency
        amount = _dec(_need(d, "amount"), "amount")
        payload = {"loan_id": loan, "amount": _money(amount), "currency": currency}
        return [ctx.event("loan.repaid", customer, payload, account_id=loan)]

    def _LoanRepaymentDueDataV1(self, ctx: _Ctx, d: dict[str, Any]) -> list[dict[str, Any]] | str:
        loan = ctx.loan(d["loanId"])
        customer = self._owner(loan)
        past_due = _dec((d.get("pastDueAmount") or {}).get("totalAmount"), "pastDueAmount")
        if past_due is None:
            due = (d.get("installment") or {}).get("totalAmountDue")
            past_due = _dec(due, "installment.totalAmountDue") or Decimal(0)
        payload = {
            "loan_id": loan,
            "days_past_due": self._config.overdue_event_days,
            "overdue_amount": _money(past_due),
            "currency": _need(d.get("currency") or {}, "code"),
        }
        return [ctx.event("loan.overdue", customer, payload, account_id=loan)]

    def _LoanAccountDelinquencyRangeDataV1(
        self, ctx: _Ctx, d: dict[str, Any]
    ) -> list[dict[str, Any]] | str:
        loan = ctx.loan(d["loanId"])
        customer = self._owner(loan)
        bucket = d.get("delinquencyRange")
        days = (bucket or {}).get("minimumAgeDays") or 0
        total = (d.get("amount") or {}).get("totalAmount")
        amount = _dec(total, "amount.totalAmount") if bucket else Decimal(0)
        payload = {
            "loan_id": loan,
            "days_past_due": days,
            "overdue_amount": _money(amount or Decimal(0)),
            "currency": _need(d["currency"], "code"),
        }
        return [ctx.event("loan.overdue", customer, payload, account_id=loan)]

    def _owner(self, account: str) -> str:
        customer = self._owners.owner(account)
        if customer is None:
            raise MalformedRecord(f"unknown_account: no owner known for {account}")
        return customer


class _Ctx:
    def __init__(self, message: FineractMessage) -> None:
        self.message = message
        self.tenant = message.tenant_id
        self.source = f"fineract:{message.tenant_id}"

    def ident(self, kind: str, value: object) -> str:
        return f"fineract:{self.tenant}:{kind}:{value}"

    def client(self, value: object) -> str:
        return self.ident("client", value)

    def savings(self, value: object) -> str:
        return self.ident("savings", value)

    def loan(self, value: object) -> str:
        return self.ident("loan", value)

    def event(
        self,
        event_type: str,
        customer_id: str,
        payload: dict[str, Any],
        *,
        account_id: str | None = None,
        part: str | None = None,
    ) -> dict[str, Any]:
        key = self.message.idempotency_key
        obj: dict[str, Any] = {
            "event_id": f"{key}:{part}" if part else key,
            "event_type": event_type,
            "occurred_at": _created_at(self.message.created_at),
            "producer": self.source,
            "customer_id": customer_id,
            "payload": payload,
        }
        if account_id:
            obj["account_id"] = account_id
        return obj


def _need(d: dict[str, Any], name: str) -> Any:
    value = d.get(name)
    if value is None:
        raise MalformedRecord(f"missing_field: {name}")
    return value


def _dec(raw: bytes | None, field: str) -> Decimal | None:
    return decimal_or_reason(raw, field=field)


def _money(value: Decimal | None) -> str | None:
    # Fineract's scale is 8; our contract allows 4. Trailing zeros are dropped, real sub-4 digits kept
    # so validation refuses (dead-letters) them instead of rounding money silently. The value is
    # bounded (20 digits) by decimal_or_reason, so the plain-notation text is short.
    if value is None:
        return None  # refused by the contract as a missing amount
    return format(value.normalize(), "f")


def _created_at(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedRecord(f"bad_timestamp: createdAt {text[:40]!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _date(text: str) -> str:
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise MalformedRecord(f"bad_date: {text[:40]!r}") from exc


def _savings_category(tx_type: dict[str, Any], payment_type: dict[str, Any]) -> tuple[str, str]:
    if any(tx_type.get(f) for f in ("initiateTransfer", "approveTransfer", "withdrawTransfer")):
        return "internal_transfer", "online"
    if tx_type.get("overdraftInterest") or tx_type.get("overdraftFee"):
        return "penalty_interest", "batch"  # charged because the balance is negative
    if tx_type.get("interestPosting"):
        return "interest", "batch"
    if any(tx_type.get(f) for f in ("feeDeduction", "withholdTax")):
        return "fee", "batch"
    if payment_type.get("isCashPayment"):
        return "cash", "branch"
    return "other", "branch"
