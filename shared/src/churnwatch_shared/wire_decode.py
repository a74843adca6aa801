"""The monitor's hot-path decode: ``transaction.posted`` and ``balance.snapshot`` without pydantic.

These two types are about 98% of the event stream, and validating them with the pydantic models
(``parse_event``) cost the worker 4.5-7 us of its ~23 us per event. The msgspec structs below
decode the same JSON in a fraction of that. They are a *stricter* restatement of the same
contract, never a second one:

- anything they refuse, or cannot be sure of, is handed to ``parse_event`` unchanged, which either
  accepts it (the structs were merely stricter: padded strings pydantic strips, a JSON ``-0.00``
  limit, an offset written ``+0800``, every other event type) or raises the same
  ``ValidationError``, so refusals, dead-letter reasons and 422 texts do not change;
- what they accept equals pydantic's model field by field, with the same Python types (enum
  members, ``Decimal`` amounts, aware datetimes with the same UTC offset, ``date``, the same
  defaults). tests/shared/test_wire_decode.py checks both against ``parse_event`` on generated
  and mutated events, and that the structs list the contract models' fields and defaults.

Amounts and the event time are decoded as anchored text (msgspec's own ``Decimal`` takes JSON
numbers and exponents, its ``datetime`` rounds a seventh fraction digit where pydantic truncates)
and converted in ``__post_init__``; to the type checker those fields are what they become.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal

import msgspec
from msgspec import Meta, Struct

from churnwatch_shared.codes import CounterpartyKind, IncomeKind
from churnwatch_shared.event_vocab import Channel, Direction, ProductKind, TransactionCategory
from churnwatch_shared.events import (
    AccountBalance,
    BalanceSnapshot,
    BalanceSnapshotEvent,
    Event,
    EventType,
    TransactionPosted,
    TransactionPostedEvent,
    parse_event,
)
from churnwatch_shared.money import ISO_4217_CURRENCIES

# Every pattern is anchored with \Z: ``$`` would also match before a trailing newline. None of
# them admits leading or trailing whitespace, which pydantic strips (str_strip_whitespace) before
# it checks: such a value is left to pydantic.
_AMOUNT_DIGITS: Final = r"[0-9]{1,16}(?:\.[0-9]{1,4})?"  # money.py's _AMOUNT_TEXT, signless
_SIGNED_TEXT: Final = rf"^-?{_AMOUNT_DIGITS}\Z"
_UNSIGNED_TEXT: Final = rf"^{_AMOUNT_DIGITS}\Z"  # "-0.00" is a valid non-negative: pydantic's
# RFC 3339 with "T", "Z" or "+hh:mm" and at most 6 fraction digits: exactly what both pydantic and
# ``datetime.fromisoformat`` read alike (pydantic also takes "t", " ", "+hhmm", ",5": left to it)
_TIME_TEXT: Final = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})\Z"
)

if TYPE_CHECKING:
    # what ``__post_init__`` makes of the text (and what the engine reads)
    _Amount = Decimal
    _NonNegativeAmount = Decimal
    _PositiveAmount = Decimal
    _Time = datetime
    _Currency = str
else:
    _Amount = Annotated[str, Meta(pattern=_SIGNED_TEXT)]
    _NonNegativeAmount = Annotated[str, Meta(pattern=_UNSIGNED_TEXT)]
    _PositiveAmount = Annotated[str, Meta(pattern=_UNSIGNED_TEXT)]  # zero: see __post_init__
    _Time = Annotated[str, Meta(pattern=_TIME_TEXT)]
    _Currency = Literal[tuple(sorted(ISO_4217_CURRENCIES))]

_Identifier = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*\Z", max_length=128)]
# Label (1-35 characters, no controls) restricted to printable ASCII without a space at either end
_PurposeCode = Annotated[str, Meta(pattern=r"^[!-~](?:[ -~]{0,33}[!-~])?\Z")]
_BankTransactionCode = Annotated[str, Meta(pattern=r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\Z")]

_CREDIT: Final = Direction.CREDIT
_from_iso = datetime.fromisoformat


class _Wire(Struct, forbid_unknown_fields=True, gc=False):
    """Unknown fields refused as the contract does; no cycles, so no GC tracking. (``kw_only``
    is per class: each subclass sets it, so defaults may come before required fields.)"""


class TransactionPostedWire(_Wire, kw_only=True):
    """``payloads.TransactionPosted``."""

    direction: Direction
    amount: _PositiveAmount
    currency: _Currency
    channel: Channel
    category: TransactionCategory
    counterparty_bank: _Identifier | None = None
    counterparty_is_own_bank: bool = True
    balance_after: _Amount | None = None
    customer_initiated: bool | None = None
    counterparty_kind: CounterpartyKind | None = None
    counterparty_id: _Identifier | None = None
    purpose_code: _PurposeCode | None = None
    bank_transaction_code: _BankTransactionCode | None = None
    standing_order_id: _Identifier | None = None
    income_kind: IncomeKind | None = None

    def __post_init__(self) -> None:
        # a ValueError here is a refusal of the fast path only: pydantic decides and words it
        amount = Decimal(self.amount)
        if not amount:
            raise ValueError("zero amount")
        self.amount = amount
        after = self.balance_after
        if after is not None:
            self.balance_after = Decimal(after)
        if self.income_kind is not None and self.direction is not _CREDIT:
            raise ValueError("income_kind on a debit")


class AccountBalanceWire(_Wire, kw_only=True):
    """``payloads.AccountBalance``."""

    account_id: _Identifier
    product_kind: ProductKind
    balance: _Amount
    currency: _Currency
    overdraft_limit: _NonNegativeAmount | None = None
    credit_limit: _NonNegativeAmount | None = None

    def __post_init__(self) -> None:
        self.balance = Decimal(self.balance)
        if self.overdraft_limit is not None:
            self.overdraft_limit = Decimal(self.overdraft_limit)
        if self.credit_limit is not None:
            self.credit_limit = Decimal(self.credit_limit)


class BalanceSnapshotWire(_Wire, kw_only=True):
    """``payloads.BalanceSnapshot``."""

    as_of: date
    balances: Annotated[list[AccountBalanceWire], Meta(min_length=1, max_length=500)]


class _WireEnvelope(_Wire, kw_only=True, tag_field="event_type"):
    """``events._Envelope``; the tag (``event_type``) is also a class attribute, as the engine
    reads it from the event."""

    event_id: _Identifier
    schema_version: Literal[1] = 1
    occurred_at: _Time
    producer: _Identifier | None = None
    customer_id: _Identifier
    account_id: _Identifier | None = None

    def __post_init__(self) -> None:
        self.occurred_at = _from_iso(self.occurred_at)


class TransactionPostedWireEvent(
    _WireEnvelope, kw_only=True, tag=EventType.TRANSACTION_POSTED.value
):
    """``events.TransactionPostedEvent``."""

    event_type: ClassVar[str] = EventType.TRANSACTION_POSTED.value
    payload: TransactionPostedWire


class BalanceSnapshotWireEvent(_WireEnvelope, kw_only=True, tag=EventType.BALANCE_SNAPSHOT.value):
    """``events.BalanceSnapshotEvent``."""

    event_type: ClassVar[str] = EventType.BALANCE_SNAPSHOT.value
    payload: BalanceSnapshotWire


WireEvent = TransactionPostedWireEvent | BalanceSnapshotWireEvent

# Each struct beside the contract model it restates (tests compare their fields and defaults).
WIRE_MODELS: Final[tuple[tuple[type[Struct], type[Any]], ...]] = (
    (TransactionPostedWire, TransactionPosted),
    (AccountBalanceWire, AccountBalance),
    (BalanceSnapshotWire, BalanceSnapshot),
    (TransactionPostedWireEvent, TransactionPostedEvent),
    (BalanceSnapshotWireEvent, BalanceSnapshotEvent),
)

_decode_wire = msgspec.json.Decoder(WireEvent).decode


def decode_fast(raw: bytes | str) -> WireEvent | None:
    """The fast path alone: the event, or None where it leaves the decision to ``parse_event``."""
    try:
        return _decode_wire(raw)
    except Exception:  # noqa: BLE001 - any refusal, of any kind, only means "ask pydantic"
        return None


def decode_event(raw: bytes | str) -> Event | WireEvent:
    """``parse_event``'s result (or an equal struct), refusals and their wording included."""
    try:
        return _decode_wire(raw)
    except Exception:  # noqa: BLE001 - the fast path never refuses: pydantic does, in its words
        return parse_event(raw)
