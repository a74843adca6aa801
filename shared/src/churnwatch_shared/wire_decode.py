"""The monitor's hot-path decode of its commonest event types, without pydantic.

``transaction.posted`` and ``balance.snapshot`` are about 98% of the event stream once customers
are onboarded (``product.subscribed`` is most of their first events), and validating them with
the pydantic models (``parse_event``) cost the worker 4.5-7 us of its ~23 us per event. The
msgspec structs below decode the same JSON in about half of that. They are a *stricter*
restatement of the same contract, never a second one:

- anything they refuse, or cannot be sure of, is handed to ``parse_event`` unchanged, which either
  accepts it (the structs were merely stricter: padded strings pydantic strips, a JSON ``-0.00``
  limit, an offset written ``+0800``, non-ASCII labels, every other event type) or raises the
  same ``ValidationError``, so refusals, dead-letter reasons and 422 texts do not change;
- what they accept equals pydantic's model field by field, with the same Python types (enum
  members, ``Decimal`` amounts, aware datetimes with the same UTC offset, ``date``, the same
  defaults). tests/shared/test_wire_decode.py checks both against ``parse_event`` on generated
  and mutated events, and that the structs list the contract models' fields and defaults.

Text is checked in ``__post_init__`` by compiled ``fullmatch`` (msgspec's ``Meta(pattern)``
costs twice as much; its ``Decimal`` takes JSON numbers, exponents and ``"1\n"``, its
``datetime`` rounds a seventh fraction digit where pydantic truncates), and amounts and the event
time are converted there; to the type checker those fields are what they become. The datetimes'
tzinfo is ``datetime.timezone`` where pydantic's is its own ``TzInfo``: same offset, same
instant, same ``isoformat``; only ``tzname()`` differs ("UTC+08:00" vs "+08:00"), which nothing
reads.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal

import msgspec
from msgspec import Meta, Struct

from churnwatch_shared.codes import CounterpartyKind, IncomeKind
from churnwatch_shared.event_vocab import (
    Channel,
    Direction,
    Product,
    ProductKind,
    TransactionCategory,
)
from churnwatch_shared.events import (
    AccountBalance,
    BalanceSnapshot,
    BalanceSnapshotEvent,
    Event,
    EventType,
    ProductSubscribed,
    ProductSubscribedEvent,
    TransactionPosted,
    TransactionPostedEvent,
    parse_event,
)
from churnwatch_shared.money import ISO_4217_CURRENCIES

# The text each field may have, matched whole (``fullmatch``: no ``$`` that would also match
# before a trailing newline). None admits leading or trailing whitespace, which pydantic strips
# (str_strip_whitespace) before it checks: a padded value is left to pydantic. Checked here in
# ``__post_init__`` rather than by msgspec's ``Meta(pattern=...)``, which cost twice as much.
_AMOUNT_DIGITS: Final = r"[0-9]{1,16}(?:\.[0-9]{1,4})?"  # money.py's _AMOUNT_TEXT, signless
_signed = re.compile(f"-?{_AMOUNT_DIGITS}").fullmatch
_unsigned = re.compile(_AMOUNT_DIGITS).fullmatch  # "-0.00" is a valid non-negative: pydantic's
# RFC 3339 with "T", "Z" or "+hh:mm" and at most 6 fraction digits: exactly what both pydantic and
# ``datetime.fromisoformat`` read alike (pydantic also takes "t", " ", "+hhmm", ",5": left to it;
# it truncates a seventh digit where msgspec's own datetime rounds)
_time = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
).fullmatch
_identifier = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}").fullmatch
# Label (1-35 characters, no controls) restricted to printable ASCII without a space at either end
_purpose_code = re.compile(r"[!-~](?:[ -~]{0,33}[!-~])?").fullmatch
_bank_transaction_code = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}").fullmatch
_variant = re.compile(r"[!-~](?:[ -~]{0,62}[!-~])?").fullmatch  # Label, 1-64, as purpose codes

if TYPE_CHECKING:
    # what ``__post_init__`` makes of the checked text (and what the engine reads)
    _Amount = Decimal
    _Time = datetime
    _Currency = str
else:
    _Amount = str
    _Time = str
    _Currency = Literal[tuple(sorted(ISO_4217_CURRENCIES))]

_CREDIT: Final = Direction.CREDIT
_from_iso = datetime.fromisoformat


class _Unsure(ValueError):
    """Raised in ``__post_init__`` (msgspec makes it a ValidationError): the fast path leaves
    this input to pydantic, which decides and words any refusal."""


class _Wire(Struct, forbid_unknown_fields=True, gc=False):
    """Unknown fields refused as the contract does; no cycles, so no GC tracking. (``kw_only``
    is per class: each subclass sets it, so defaults may come before required fields.)"""


class TransactionPostedWire(_Wire, kw_only=True):
    """``payloads.TransactionPosted``."""

    direction: Direction
    amount: _Amount  # > 0
    currency: _Currency
    channel: Channel
    category: TransactionCategory
    counterparty_bank: str | None = None
    counterparty_is_own_bank: bool = True
    balance_after: _Amount | None = None
    customer_initiated: bool | None = None
    counterparty_kind: CounterpartyKind | None = None
    counterparty_id: str | None = None
    purpose_code: str | None = None
    bank_transaction_code: str | None = None
    standing_order_id: str | None = None
    income_kind: IncomeKind | None = None

    def __post_init__(self) -> None:
        text: Any = self.amount
        if _unsigned(text) is None or not (amount := Decimal(text)):
            raise _Unsure("amount")
        self.amount = amount
        text = self.balance_after
        if text is not None:
            if _signed(text) is None:
                raise _Unsure("balance_after")
            self.balance_after = Decimal(text)
        if self.income_kind is not None and self.direction is not _CREDIT:
            raise _Unsure("income_kind on a debit")
        # the optional texts, mostly absent
        for ident in (self.counterparty_bank, self.counterparty_id, self.standing_order_id):
            if ident is not None and _identifier(ident) is None:
                raise _Unsure("identifier")
        code = self.purpose_code
        if code is not None and _purpose_code(code) is None:
            raise _Unsure("purpose_code")
        code = self.bank_transaction_code
        if code is not None and _bank_transaction_code(code) is None:
            raise _Unsure("bank_transaction_code")


class AccountBalanceWire(_Wire, kw_only=True):
    """``payloads.AccountBalance``."""

    account_id: str
    product_kind: ProductKind
    balance: _Amount
    currency: _Currency
    overdraft_limit: _Amount | None = None  # >= 0
    credit_limit: _Amount | None = None  # >= 0

    def __post_init__(self) -> None:
        text: Any = self.balance
        if _signed(text) is None or _identifier(self.account_id) is None:
            raise _Unsure("balance")
        self.balance = Decimal(text)
        text = self.overdraft_limit
        if text is not None:
            if _unsigned(text) is None:
                raise _Unsure("overdraft_limit")
            self.overdraft_limit = Decimal(text)
        text = self.credit_limit
        if text is not None:
            if _unsigned(text) is None:
                raise _Unsure("credit_limit")
            self.credit_limit = Decimal(text)


class BalanceSnapshotWire(_Wire, kw_only=True):
    """``payloads.BalanceSnapshot``."""

    as_of: date
    balances: Annotated[list[AccountBalanceWire], Meta(min_length=1, max_length=500)]


class ProductSubscribedWire(_Wire, kw_only=True):
    """``payloads.ProductSubscribed`` (most of a new customer's first events)."""

    product: Product
    variant: str | None = None
    credit_limit: _Amount | None = None  # >= 0
    currency: _Currency | None = None

    def __post_init__(self) -> None:
        variant = self.variant
        if variant is not None and _variant(variant) is None:
            raise _Unsure("variant")
        text: Any = self.credit_limit
        if text is not None:
            if _unsigned(text) is None or self.currency is None:
                raise _Unsure("credit_limit")
            self.credit_limit = Decimal(text)


class _WireEnvelope(_Wire, kw_only=True, tag_field="event_type"):
    """``events._Envelope``; the tag (``event_type``) is also a class attribute, as the engine
    reads it from the event."""

    event_id: str
    schema_version: Literal[1] = 1
    occurred_at: _Time
    producer: str | None = None
    customer_id: str
    account_id: str | None = None

    def __post_init__(self) -> None:
        text: Any = self.occurred_at
        if (
            _time(text) is None
            or _identifier(self.event_id) is None
            or _identifier(self.customer_id) is None
        ):
            raise _Unsure("envelope")
        account, producer = self.account_id, self.producer
        if (account is not None and _identifier(account) is None) or (
            producer is not None and _identifier(producer) is None
        ):
            raise _Unsure("envelope")
        self.occurred_at = _from_iso(text)  # a ValueError (e.g. day 31 in April): pydantic's turn


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


class ProductSubscribedWireEvent(
    _WireEnvelope, kw_only=True, tag=EventType.PRODUCT_SUBSCRIBED.value
):
    """``events.ProductSubscribedEvent``."""

    event_type: ClassVar[str] = EventType.PRODUCT_SUBSCRIBED.value
    payload: ProductSubscribedWire


WireEvent = TransactionPostedWireEvent | BalanceSnapshotWireEvent | ProductSubscribedWireEvent

# Each struct beside the contract model it restates (tests compare their fields and defaults).
WIRE_MODELS: Final[tuple[tuple[type[Struct], type[Any]], ...]] = (
    (TransactionPostedWire, TransactionPosted),
    (AccountBalanceWire, AccountBalance),
    (BalanceSnapshotWire, BalanceSnapshot),
    (TransactionPostedWireEvent, TransactionPostedEvent),
    (BalanceSnapshotWireEvent, BalanceSnapshotEvent),
    (ProductSubscribedWire, ProductSubscribed),
    (ProductSubscribedWireEvent, ProductSubscribedEvent),
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
