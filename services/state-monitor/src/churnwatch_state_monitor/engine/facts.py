"""Values the monitor reads from an event once: amounts in cents, the event id's fingerprint, the
fields of a posted transaction (a pydantic attribute costs far more to read than a plain one)."""

from __future__ import annotations

from binascii import b2a_base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from hashlib import blake2b
from typing import Final

from churnwatch_shared.events import (
    BANK_INITIATED_CATEGORIES,
    Channel,
    Direction,
    TransactionCategory,
    TransactionPosted,
)

FINGERPRINT_CHARS: Final = 8  # 48 bits in base64, no padding
_EXACT_CENTS: Final = 10**16  # below it a whole number of cents has fewer digits than a context
_ONLINE: Final = frozenset({Channel.ONLINE, Channel.MOBILE})
_DEBIT: Final = Direction.DEBIT
_CARD_SPEND: Final = TransactionCategory.CARD_SPEND
_PAYROLL_CREDIT: Final = TransactionCategory.PAYROLL_CREDIT
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY: Final = _EPOCH.toordinal()
_DAY_SECONDS: Final = 86400
_FINGERPRINT_HASH: Final = blake2b(digest_size=6)  # copied per id: cheaper than a new hasher


def cents(amount: Decimal) -> int:
    """Decimal amount to integer minor units (half-even rounding of sub-cent digits)."""
    whole, per = amount.as_integer_ratio()  # exact; a whole number of cents needs no rounding
    if 100 % per == 0 and -_EXACT_CENTS < whole < _EXACT_CENTS:
        return whole * (100 // per)
    return int(amount.scaleb(2).to_integral_value())


# The inverse of ``cents`` for texts (alert baselines, snapshots): "00".."99", also clock fields.
TWO_DIGITS: Final = tuple(f"{n:02d}" for n in range(100))


def money_str(minor: int) -> str:
    """Integer minor units as a decimal string ("-12.05"), never through a float (one f-string:
    compiled, it builds the result at once, without the partial strings of ``+``)."""
    if minor >= 0:
        return f"{minor // 100}.{TWO_DIGITS[minor % 100]}"
    return f"-{-minor // 100}.{TWO_DIGITS[-minor % 100]}"


def event_fingerprint(event_id: str) -> str:
    """A 48-bit fingerprint of an event id as 8 base64 characters: a dozen per customer fit in
    one short string (one object to keep, copy and encode instead of a list of integers)."""
    h = _FINGERPRINT_HASH.copy()
    h.update(event_id.encode())
    return b2a_base64(h.digest(), newline=False).decode()


def epoch_seconds(at: datetime) -> int:
    """``int(at.timestamp())`` of an aware datetime, without the float for whole seconds.

    The offset is asked of the tzinfo directly: ``datetime.utcoffset`` and datetime subtraction
    look the method up by its C-string name on every call (subtraction does it for both operands),
    which costs more than all the arithmetic here. Anything else (a fraction of a second, an
    offset that is not a whole-second ``timedelta`` within a day, a naive time, a subclass of
    datetime) takes ``_epoch_seconds_by_subtraction``, as before, errors included.
    """
    tz = at.tzinfo
    if tz is None or type(at) is not datetime or at.microsecond:
        return _epoch_seconds_by_subtraction(at)
    offset = tz.utcoffset(at)
    if offset is None or type(offset) is not timedelta or offset.microseconds:
        return _epoch_seconds_by_subtraction(at)
    shift = offset.days * _DAY_SECONDS + offset.seconds
    if not -_DAY_SECONDS < shift < _DAY_SECONDS:  # datetime rejects such an offset: let it say so
        return _epoch_seconds_by_subtraction(at)
    return (
        (at.toordinal() - _EPOCH_DAY) * _DAY_SECONDS
        + at.hour * 3600
        + at.minute * 60
        + at.second
        - shift
    )


def _epoch_seconds_by_subtraction(at: datetime) -> int:
    """``epoch_seconds`` by datetime arithmetic: any datetime ``at - _EPOCH`` accepts."""
    since = at - _EPOCH
    if since.microseconds:  # truncation towards zero of a fraction: as the float does it
        return int(at.timestamp())
    return since.days * _DAY_SECONDS + since.seconds


class Txn:
    """A transaction.posted payload as the state update and the account-flow rules read it."""

    __slots__ = (
        "after",
        "amount",
        "card_spend",
        "customer_initiated",
        "debit",
        "online",
        "own_bank",
        "payroll",
    )

    def __init__(self, p: TransactionPosted) -> None:
        self.amount: int = cents(p.amount)  # cents, always positive
        self.debit: bool = p.direction is _DEBIT
        self.own_bank: bool = p.counterparty_is_own_bank
        after = p.balance_after
        self.after: int | None = None if after is None else cents(after)  # balance after, cents
        category, initiated = p.category, p.customer_initiated
        self.customer_initiated: bool = (
            initiated if initiated is not None else category not in BANK_INITIATED_CATEGORIES
        )
        self.online: bool = p.channel in _ONLINE
        self.card_spend: bool = category is _CARD_SPEND
        self.payroll: bool = category is _PAYROLL_CREDIT

    @property
    def to_other_bank(self) -> bool:
        """A debit to another bank: what both account-flow rules judge."""
        return self.debit and not self.own_bank
