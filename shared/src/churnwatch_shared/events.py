"""The event catalogue: the envelope every producer, ingest and the monitor agree on.

Version 1 of the wire contract. One envelope, keyed by ``customer_id`` on Kafka; ``event_type``
selects the payload model. Unknown fields are refused so a producer's typo surfaces as a 422
instead of silently missing data. The payload models (``payloads.py``) and their vocabularies
(``event_vocab.py``, ``codes.py``) are re-exported here, so ``churnwatch_shared.events`` stays the
one import path for the whole contract.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Final, Literal, get_args

from pydantic import AwareDatetime, Field, TypeAdapter

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
from churnwatch_shared.event_vocab import (
    BANK_INITIATED_CATEGORIES,
    Channel,
    ComplaintOutcome,
    ComplaintSeverity,
    ContactKind,
    Direction,
    LoanClassification,
    Product,
    ProductKind,
    Segment,
    Tier,
    TransactionCategory,
)
from churnwatch_shared.money import Identifier
from churnwatch_shared.payloads import (
    AccountBalance,
    AccountClosed,
    AccountOpened,
    BalanceSnapshot,
    ComplaintFiled,
    ComplaintResolved,
    ContactLogged,
    Contract,
    CustomerAssigned,
    CustomerErasureRequested,
    CustomerProfile,
    LoanClassified,
    LoanDisbursed,
    LoanOverdue,
    LoanRepaid,
    PaymentBounced,
    ProductCancelled,
    ProductSubscribed,
    StandingOrderCancelled,
    StandingOrderCreated,
    TransactionPosted,
)

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


# --- envelope -----------------------------------------------------------------------------------


class _Envelope(Contract):
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


# The whole contract, including the re-exported payloads and vocabularies.
__all__ = [
    "BANK_INITIATED_CATEGORIES",
    "EVENT_ADAPTER",
    "EVENT_MODELS",
    "PRODUCER_EVENT_TYPES",
    "RESERVED_EVENT_TYPES",
    "SCHEMA_VERSION",
    "AccountBalance",
    "AccountClosed",
    "AccountClosedEvent",
    "AccountOpened",
    "AccountOpenedEvent",
    "BalanceSnapshot",
    "BalanceSnapshotEvent",
    "BankTransactionCode",
    "Channel",
    "ComplaintFiled",
    "ComplaintFiledEvent",
    "ComplaintOutcome",
    "ComplaintResolved",
    "ComplaintResolvedEvent",
    "ComplaintSeverity",
    "ContactChannel",
    "ContactInitiator",
    "ContactKind",
    "ContactLogged",
    "ContactLoggedEvent",
    "Contract",
    "CounterpartyKind",
    "CustomerAssigned",
    "CustomerAssignedEvent",
    "CustomerErasureRequested",
    "CustomerErasureRequestedEvent",
    "CustomerProfile",
    "CustomerProfileEvent",
    "Direction",
    "Event",
    "EventType",
    "Frequency",
    "IncomeKind",
    "LoanClassification",
    "LoanClassified",
    "LoanClassifiedEvent",
    "LoanDisbursed",
    "LoanDisbursedEvent",
    "LoanOverdue",
    "LoanOverdueEvent",
    "LoanRepaid",
    "LoanRepaidEvent",
    "PaymentBounced",
    "PaymentBouncedEvent",
    "Product",
    "ProductCancelled",
    "ProductCancelledEvent",
    "ProductKind",
    "ProductSubscribed",
    "ProductSubscribedEvent",
    "PurposeCode",
    "Segment",
    "StandingOrderCancelled",
    "StandingOrderCancelledEvent",
    "StandingOrderCreated",
    "StandingOrderCreatedEvent",
    "Tier",
    "Topic",
    "TransactionCategory",
    "TransactionPosted",
    "TransactionPostedEvent",
    "encode_event",
    "parse_event",
    "parse_event_obj",
]
