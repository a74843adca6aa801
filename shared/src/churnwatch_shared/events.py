"""The event catalogue: envelope and typed payloads every producer, ingest and the monitor agree on.

Version 1 of the wire contract. One envelope, keyed by ``customer_id`` on Kafka; ``event_type``
selects the payload model. Unknown fields are refused so a producer's typo surfaces as a 422
instead of silently missing data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated, Final, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from churnwatch_shared.codes import (
    BankTransactionCode,
    ContactChannel,
    ContactInitiator,
    CounterpartyKind,
    Frequency,
    IncomeKind,
    PurposeCode,
    Topic,
)
from churnwatch_shared.money import Amount, Currency, Identifier, NonNegativeAmount, PositiveAmount
from churnwatch_shared.text import Label, Text

SCHEMA_VERSION: Final = 1


class EventType(StrEnum):
    TRANSACTION_POSTED = "transaction.posted"
    BALANCE_SNAPSHOT = "balance.snapshot"
    ACCOUNT_OPENED = "account.opened"
    ACCOUNT_CLOSED = "account.closed"
    PRODUCT_SUBSCRIBED = "product.subscribed"
    PRODUCT_CANCELLED = "product.cancelled"
    LOAN_DISBURSED = "loan.disbursed"
    LOAN_REPAID = "loan.repaid"
    LOAN_OVERDUE = "loan.overdue"
    LOAN_CLASSIFIED = "loan.classified"
    PAYMENT_BOUNCED = "payment.bounced"
    COMPLAINT_FILED = "complaint.filed"
    COMPLAINT_RESOLVED = "complaint.resolved"
    CONTACT_LOGGED = "contact.logged"
    CUSTOMER_PROFILE = "customer.profile"
    CUSTOMER_ASSIGNED = "customer.assigned"
    STANDING_ORDER_CREATED = "standing_order.created"
    STANDING_ORDER_CANCELLED = "standing_order.cancelled"
    # Sent only by the alerts service's privacy API (ingest refuses it from producers): the
    # monitor deletes the customer's state, ordered after every earlier event of the customer.
    CUSTOMER_ERASURE_REQUESTED = "customer.erasure_requested"


# Types ingest refuses from producers, with the only sender of each (named in the refusal).
RESERVED_EVENT_TYPES: Final[dict[str, str]] = {
    EventType.CUSTOMER_ERASURE_REQUESTED.value: (
        "the alerts service's privacy API (POST /v1/privacy/erasures, or "
        "python -m churnwatch_alerts erase CUSTOMER_ID --reason ...)"
    ),
}
# What a producer may send to ingest.
PRODUCER_EVENT_TYPES: Final[tuple[EventType, ...]] = tuple(
    t for t in EventType if t.value not in RESERVED_EVENT_TYPES
)


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --- vocabularies -------------------------------------------------------------------------------


class Direction(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"


class Channel(StrEnum):
    BRANCH = "branch"
    ATM = "atm"
    ONLINE = "online"
    MOBILE = "mobile"
    POS = "pos"
    BATCH = "batch"


class TransactionCategory(StrEnum):
    CASH = "cash"
    INTERNAL_TRANSFER = "internal_transfer"
    INTERBANK_TRANSFER = "interbank_transfer"
    PAYROLL_CREDIT = "payroll_credit"
    CARD_SPEND = "card_spend"
    FEE = "fee"
    INTEREST = "interest"
    # interest or a charge for a negative balance (overdraft) or an overdue amount
    PENALTY_INTEREST = "penalty_interest"
    LOAN_REPAYMENT = "loan_repayment"
    INVESTMENT_BUY = "investment_buy"
    INVESTMENT_REDEEM = "investment_redeem"
    INTERNATIONAL_SETTLEMENT = "international_settlement"
    AGENCY_COLLECTION = "agency_collection"
    AGENCY_PAYMENT = "agency_payment"
    REMITTANCE = "remittance"
    OTHER = "other"


# Categories the bank books on its own initiative; they are not a sign of customer activity.
BANK_INITIATED_CATEGORIES: frozenset[TransactionCategory] = frozenset(
    {TransactionCategory.FEE, TransactionCategory.INTEREST, TransactionCategory.PENALTY_INTEREST}
)


class ProductKind(StrEnum):
    """Balance-bearing account kinds, as in a core bank's general ledger."""

    DEMAND = "demand"
    TIME_DEPOSIT = "time_deposit"
    LOAN = "loan"
    INVESTMENT = "investment"
    CARD = "card"


class Product(StrEnum):
    """Products and services a customer subscribes to (product-usage state)."""

    ONLINE_BANKING = "online_banking"
    MOBILE_BANKING = "mobile_banking"
    DEBIT_CARD = "debit_card"
    CREDIT_CARD = "credit_card"
    FUND = "fund"
    TREASURY_BOND = "treasury_bond"
    WEALTH_PRODUCT = "wealth_product"
    INSURANCE = "insurance"
    SECURITIES_LINK = "securities_link"
    PAYROLL_AGENCY = "payroll_agency"
    TIME_DEPOSIT = "time_deposit"
    LOAN = "loan"


class LoanClassification(StrEnum):
    """China's five-category loan classification, from best to worst."""

    NORMAL = "normal"
    SPECIAL_MENTION = "special_mention"
    SUBSTANDARD = "substandard"
    DOUBTFUL = "doubtful"
    LOSS = "loss"


class Segment(StrEnum):
    RETAIL = "retail"
    CORPORATE = "corporate"


class Tier(StrEnum):
    MASS = "mass"
    GOLD = "gold"
    PLATINUM = "platinum"
    DIAMOND = "diamond"
    PRIVATE_BANKING = "private_banking"


class ComplaintSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ComplaintOutcome(StrEnum):
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"
    WITHDRAWN = "withdrawn"


class ContactKind(StrEnum):
    CALL = "call"
    VISIT = "visit"
    MEETING = "meeting"
    MESSAGE = "message"


# --- payloads -----------------------------------------------------------------------------------


class TransactionPosted(_Contract):
    direction: Direction
    amount: PositiveAmount
    currency: Currency
    channel: Channel
    category: TransactionCategory
    counterparty_bank: Identifier | None = Field(
        default=None, description="BIC or bank code of the counterparty's bank; null when unknown"
    )
    counterparty_is_own_bank: bool = Field(
        default=True, description="false when money moves to or from another bank"
    )
    balance_after: Amount | None = None
    customer_initiated: bool | None = Field(
        default=None,
        description="null: derived from category (fees and interest are bank-initiated)",
    )
    counterparty_kind: CounterpartyKind | None = Field(
        default=None, description="who is on the other side; null: the producer did not say"
    )
    counterparty_id: Identifier | None = Field(
        default=None,
        description="opaque, stable id of the counterparty (e.g. a hash of its bank and account), "
        "the same on every posting to or from it: recurring payees are recognised by it",
    )
    purpose_code: PurposeCode | None = None
    bank_transaction_code: BankTransactionCode | None = None
    standing_order_id: Identifier | None = Field(
        default=None,
        description="the standing order (or direct-debit mandate) this posting executes",
    )
    income_kind: IncomeKind | None = Field(
        default=None, description="credits only: the credit is salary, pension, benefit or other"
    )

    @model_validator(mode="after")
    def _income_is_a_credit(self) -> TransactionPosted:
        if self.income_kind is not None and self.direction is not Direction.CREDIT:
            raise ValueError(
                f"income_kind {self.income_kind.value!r} is allowed on credits only "
                f"(direction is {self.direction.value!r})"
            )
        return self


class AccountBalance(_Contract):
    account_id: Identifier
    product_kind: ProductKind
    balance: Amount = Field(
        description="demand, time deposit, investment: funds held (negative: overdrawn); "
        "loan and card: the amount owed, positive (a card's credit balance is negative)"
    )
    currency: Currency
    overdraft_limit: NonNegativeAmount | None = Field(
        default=None, description="demand accounts: how far below zero the balance may go"
    )
    credit_limit: NonNegativeAmount | None = Field(
        default=None, description="cards (revolving credit): the limit; utilisation = balance/limit"
    )


class BalanceSnapshot(_Contract):
    as_of: date
    balances: list[AccountBalance] = Field(min_length=1, max_length=500)


class AccountOpened(_Contract):
    product_kind: ProductKind
    currency: Currency


class AccountClosed(_Contract):
    product_kind: ProductKind
    reason: Annotated[Text, Field(max_length=200)] | None = None


class ProductSubscribed(_Contract):
    product: Product
    variant: Annotated[Label, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="the product's variant, e.g. a card type: classic, gold, junior"
    )
    credit_limit: NonNegativeAmount | None = None
    currency: Currency | None = Field(default=None, description="required with credit_limit")

    @model_validator(mode="after")
    def _limit_has_a_currency(self) -> ProductSubscribed:
        if self.credit_limit is not None and self.currency is None:
            raise ValueError("credit_limit needs a currency (ISO 4217, e.g. CNY)")
        return self


class ProductCancelled(_Contract):
    product: Product
    reason: Annotated[Text, Field(max_length=200)] | None = None


class LoanDisbursed(_Contract):
    loan_id: Identifier
    amount: PositiveAmount
    currency: Currency
    maturity_date: date | None = None


class LoanRepaid(_Contract):
    loan_id: Identifier
    amount: PositiveAmount
    currency: Currency
    outstanding_after: NonNegativeAmount | None = None


class LoanOverdue(_Contract):
    loan_id: Identifier
    days_past_due: int = Field(ge=0, le=36500)
    overdue_amount: NonNegativeAmount
    currency: Currency
    penalty_interest: NonNegativeAmount | None = None


class LoanClassified(_Contract):
    loan_id: Identifier
    classification: LoanClassification
    balance: NonNegativeAmount
    currency: Currency


class PaymentBounced(_Contract):
    amount: PositiveAmount
    currency: Currency
    reason: Annotated[Text, Field(max_length=200)]


class ComplaintFiled(_Contract):
    complaint_id: Identifier
    category: Annotated[Label, Field(min_length=1, max_length=64)]
    severity: ComplaintSeverity = ComplaintSeverity.MEDIUM
    channel: Channel | None = None


class ComplaintResolved(_Contract):
    complaint_id: Identifier
    outcome: ComplaintOutcome


class ContactLogged(_Contract):
    manager_id: Identifier | None = Field(
        default=None,
        description="the manager who reached out or took the contact; "
        "required when initiated_by is bank",
    )
    kind: ContactKind
    initiated_by: ContactInitiator = Field(
        default=ContactInitiator.BANK,
        description="customer: the customer reached out (a churn signal); bank: outreach",
    )
    channel: ContactChannel | None = None
    topic: Topic | None = None

    @model_validator(mode="after")
    def _outreach_names_its_manager(self) -> ContactLogged:
        if self.initiated_by is ContactInitiator.BANK and self.manager_id is None:
            raise ValueError(
                "manager_id is required when initiated_by is 'bank' (the bank's outreach names "
                "its manager); it may be omitted only when initiated_by is 'customer'"
            )
        return self


class CustomerProfile(_Contract):
    segment: Segment
    tier: Tier
    branch_id: Identifier
    customer_since: date | None = Field(default=None, description="start of the relationship")
    display_name: Annotated[Label, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="shown to the assigned manager only; never logged"
    )


class CustomerAssigned(_Contract):
    relationship_manager_id: Identifier | None = None
    wealth_advisor_id: Identifier | None = None
    service_team_id: Identifier | None = None
    branch_id: Identifier | None = None


class StandingOrderCreated(_Contract):
    """A recurring payment the customer set up (its executions carry ``standing_order_id``)."""

    standing_order_id: Identifier
    counterparty_id: Identifier | None = None
    counterparty_kind: CounterpartyKind | None = None
    counterparty_bank: Identifier | None = None
    counterparty_is_own_bank: bool | None = None
    amount: PositiveAmount
    currency: Currency
    purpose_code: PurposeCode | None = None
    frequency: Frequency = Frequency.MONTHLY


class StandingOrderCancelled(_Contract):
    standing_order_id: Identifier
    reason: Annotated[Text, Field(max_length=200)] | None = None


class CustomerErasureRequested(_Contract):
    """An erasure of everything ChurnWatch holds on the customer (proof: ``erasure_id``)."""

    erasure_id: Identifier


# --- envelope -----------------------------------------------------------------------------------


class _Envelope(_Contract):
    event_id: Identifier = Field(description="producer-unique id; the idempotency key")
    schema_version: Literal[1] = SCHEMA_VERSION
    occurred_at: AwareDatetime = Field(description="event time, timezone-aware (ISO 8601)")
    producer: Identifier | None = Field(
        default=None, description="stamped by ingest from the authenticated producer"
    )
    customer_id: Identifier
    account_id: Identifier | None = None


class TransactionPostedEvent(_Envelope):
    event_type: Literal["transaction.posted"]
    payload: TransactionPosted


class BalanceSnapshotEvent(_Envelope):
    event_type: Literal["balance.snapshot"]
    payload: BalanceSnapshot


class AccountOpenedEvent(_Envelope):
    event_type: Literal["account.opened"]
    account_id: Identifier
    payload: AccountOpened


class AccountClosedEvent(_Envelope):
    event_type: Literal["account.closed"]
    account_id: Identifier
    payload: AccountClosed


class ProductSubscribedEvent(_Envelope):
    event_type: Literal["product.subscribed"]
    payload: ProductSubscribed


class ProductCancelledEvent(_Envelope):
    event_type: Literal["product.cancelled"]
    payload: ProductCancelled


class LoanDisbursedEvent(_Envelope):
    event_type: Literal["loan.disbursed"]
    payload: LoanDisbursed


class LoanRepaidEvent(_Envelope):
    event_type: Literal["loan.repaid"]
    payload: LoanRepaid


class LoanOverdueEvent(_Envelope):
    event_type: Literal["loan.overdue"]
    payload: LoanOverdue


class LoanClassifiedEvent(_Envelope):
    event_type: Literal["loan.classified"]
    payload: LoanClassified


class PaymentBouncedEvent(_Envelope):
    event_type: Literal["payment.bounced"]
    payload: PaymentBounced


class ComplaintFiledEvent(_Envelope):
    event_type: Literal["complaint.filed"]
    payload: ComplaintFiled


class ComplaintResolvedEvent(_Envelope):
    event_type: Literal["complaint.resolved"]
    payload: ComplaintResolved


class ContactLoggedEvent(_Envelope):
    event_type: Literal["contact.logged"]
    payload: ContactLogged


class CustomerProfileEvent(_Envelope):
    event_type: Literal["customer.profile"]
    payload: CustomerProfile


class CustomerAssignedEvent(_Envelope):
    event_type: Literal["customer.assigned"]
    payload: CustomerAssigned


class StandingOrderCreatedEvent(_Envelope):
    event_type: Literal["standing_order.created"]
    payload: StandingOrderCreated


class StandingOrderCancelledEvent(_Envelope):
    event_type: Literal["standing_order.cancelled"]
    payload: StandingOrderCancelled


class CustomerErasureRequestedEvent(_Envelope):
    event_type: Literal["customer.erasure_requested"]
    payload: CustomerErasureRequested


Event = Annotated[
    TransactionPostedEvent
    | BalanceSnapshotEvent
    | AccountOpenedEvent
    | AccountClosedEvent
    | ProductSubscribedEvent
    | ProductCancelledEvent
    | LoanDisbursedEvent
    | LoanRepaidEvent
    | LoanOverdueEvent
    | LoanClassifiedEvent
    | PaymentBouncedEvent
    | ComplaintFiledEvent
    | ComplaintResolvedEvent
    | ContactLoggedEvent
    | CustomerProfileEvent
    | CustomerAssignedEvent
    | StandingOrderCreatedEvent
    | StandingOrderCancelledEvent
    | CustomerErasureRequestedEvent,
    Field(discriminator="event_type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

EVENT_MODELS: dict[EventType, type[_Envelope]] = {
    EventType(get_args(model.model_fields["event_type"].annotation)[0]): model
    for model in get_args(get_args(Event)[0])
}


# the adapter's own call, minus a wrapper
_VALIDATE_JSON: Callable[[bytes | str], Event] = EVENT_ADAPTER.validator.validate_json


def parse_event(raw: bytes | str) -> Event:
    """Validate one JSON-encoded event; raises ``pydantic.ValidationError`` with field paths."""
    return _VALIDATE_JSON(raw)


def parse_event_obj(obj: object) -> Event:
    """Validate one already-decoded event (a dict from a JSON array or NDJSON line)."""
    return EVENT_ADAPTER.validate_python(obj)


def encode_event(event: Event) -> bytes:
    """The canonical wire bytes of an event (JSON, amounts as strings, nulls omitted)."""
    return event.model_dump_json(exclude_none=True).encode()
