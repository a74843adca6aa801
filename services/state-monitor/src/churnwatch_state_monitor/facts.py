"""Values the monitor reads from an event once: amounts in cents, the event id's fingerprint, the
fields of a posted transaction (a pydantic attribute costs far more to read than a plain one)."""

from __future__ import annotations

from binascii import b2a_base64
from datetime import UTC, datetime
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
_FINGERPRINT_HASH: Final = blake2b(digest_size=6)  # copied per id: cheaper than a new hasher


def cents(amount: Decimal) -> int:
    """Decimal amount to integer minor units (half-even rounding of sub-cent digits)."""
    whole, per = amount.as_integer_ratio()  # exact; a whole number of cents needs no rounding
    if 100 % per == 0 and -_EXACT_CENTS < whole < _EXACT_CENTS:
        return whole * (100 // per)
    return int(amount.scaleb(2).to_integral_value())


def event_fingerprint(event_id: str) -> str:
    """A 48-bit fingerprint of an event id as 8 base64 characters: a dozen per customer fit in
    one short string (one object to keep, copy and encode instead of a list of integers)."""
    h = _FINGERPRINT_HASH.copy()
    h.update(event_id.encode())
    return b2a_base64(h.digest(), newline=False).decode()


def epoch_seconds(at: datetime) -> int:
    """``int(at.timestamp())`` of an aware datetime, without the float for whole seconds."""
    since = at - _EPOCH
    if since.microseconds:  # truncation towards zero of a fraction: as the float does it
        return int(at.timestamp())
    return since.days * 86400 + since.seconds


class Txn:
    """A transaction.posted payload as the state update and the account-flow rules read it."""

    __slots__ = ("after", "amount", "card_spend", "customer_initiated", "debit", "online",
                 "own_bank", "payroll")

    def __init__(self, p: TransactionPosted) -> None:
        self.amount: int = cents(p.amount)  # cents, always positive
        self.debit: bool = p.direction is _DEBIT
        self.own_bank: bool = p.counterparty_is_own_bank
        after = p.balance_after
        self.after: int | None = None if after is None else cents(after)  # balance after, cents
        category, initiated = p.category, p.customer_initiated
        self.customer_initiated: bool = (initiated if initiated is not None
                                         else category not in BANK_INITIATED_CATEGORIES)
        self.online: bool = p.channel in _ONLINE
        self.card_spend: bool = category is _CARD_SPEND
        self.payroll: bool = category is _PAYROLL_CREDIT

    @property
    def to_other_bank(self) -> bool:
        """A debit to another bank: what both account-flow rules judge."""
        return self.debit and not self.own_bank
