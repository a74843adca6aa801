"""Values the monitor reads from an event once: amounts in reporting-currency cents, the event id's
fingerprint, the fields of a posted transaction (a pydantic attribute costs far more to read than
a plain one), and what kind of money movement a posting is (issue 15)."""

from __future__ import annotations

from binascii import b2a_base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from hashlib import blake2b
from typing import Any, Final

from churnwatch_shared.codes import CounterpartyKind
from churnwatch_shared.events import (
    BANK_INITIATED_CATEGORIES,
    Channel,
    Direction,
    TransactionCategory,
    TransactionPosted,
)
from churnwatch_shared.wire_decode import TransactionPostedWire

FINGERPRINT_CHARS: Final = 8  # 48 bits in base64, no padding
_EXACT_CENTS: Final = 10**16  # below it a whole number of cents has fewer digits than a context
_ONLINE: Final = frozenset({Channel.ONLINE, Channel.MOBILE})
_BATCH: Final = Channel.BATCH
_DEBIT: Final = Direction.DEBIT
_CARD_SPEND: Final = TransactionCategory.CARD_SPEND
_PAYROLL_CREDIT: Final = TransactionCategory.PAYROLL_CREDIT
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY: Final = _EPOCH.toordinal()
_DAY_SECONDS: Final = 86400
_FINGERPRINT_HASH: Final = blake2b(digest_size=6)  # copied per id: cheaper than a new hasher
_PENALTY_INTEREST: Final = TransactionCategory.PENALTY_INTEREST
_UNKNOWN: Final = CounterpartyKind.UNKNOWN
# Money leaving (issue 15, cause 4): to the customer's own account at another bank, or to a broker
# or investment platform there. Every other named counterparty is spending or a bill.
LEAVING_KINDS: Final = frozenset(
    {CounterpartyKind.OWN_ACCOUNT, CounterpartyKind.INVESTMENT_PLATFORM}
)
# Categories that are spending, bills or the bank's own bookings whoever the counterparty is:
# a card purchase, a household bill or insurance premium (agency payment), a loan instalment.
NOT_LEAVING_CATEGORIES: Final = frozenset(
    {
        TransactionCategory.CARD_SPEND,
        TransactionCategory.AGENCY_PAYMENT,
        TransactionCategory.LOAN_REPAYMENT,
        TransactionCategory.FEE,
        TransactionCategory.INTEREST,
        TransactionCategory.PENALTY_INTEREST,
    }
)
_FACTORS_KEPT: Final = 4096


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


class Fx:
    """Amounts into the rule set's reporting currency, at the rate in force on the event's day.

    The rule set's money thresholds and tier floors are in its reporting currency (``fx.reporting``
    in the rules file). An amount in that currency is taken as it is (the common case costs one
    string comparison); another currency is converted with ``churnwatch_shared.fx.FxTable``. An
    amount whose currency has no rate is left out of every sum and comparison, counted here
    (``skipped``, by currency) and on the customer's record (``nofx``): never guessed, no crash.
    One per Monitor (one thread at a time).
    """

    def __init__(self, *, table: Any, reporting: str) -> None:
        self.table = table  # an FxTable, or None: no other currency converts
        self.reporting = reporting
        self._factors: dict[str, Decimal | None] = {}  # "EUR:<day>" -> factor (None: no rate)
        self.skipped: dict[str, int] = {}

    def minor(self, amount: Decimal, currency: str, at: int) -> int | None:
        """``amount`` in ``currency`` at event time ``at`` as reporting cents (None: no rate)."""
        if currency == self.reporting:
            return cents(amount)
        factor = self.factor(currency, at)
        if factor is None:
            self.skipped[currency] = self.skipped.get(currency, 0) + 1
            return None
        return cents(amount * factor)

    def factor(self, currency: str, at: int) -> Decimal | None:
        """Reporting units per unit of ``currency`` on the day of ``at`` (None: no rate)."""
        day = at // _DAY_SECONDS
        key = f"{currency}:{day}"
        if key in self._factors:
            return self._factors[key]
        found: Decimal | None = None
        if self.table is not None:
            on = datetime.fromtimestamp(day * _DAY_SECONDS, UTC).date()
            try:
                found = self.table.factor(currency=currency, on=on)
            except KeyError:
                found = None
        if len(self._factors) >= _FACTORS_KEPT:
            self._factors.clear()
        self._factors[key] = found
        return found


class Txn:
    """A transaction.posted payload as the state update and the account-flow rules read it."""

    __slots__ = (
        "after",
        "amount",
        "card_spend",
        "customer_initiated",
        "debit",
        "discretionary",
        "leaving",
        "online",
        "own_bank",
        "payee",
        "payroll",
        "penalty",
        "skipped",
    )

    def __init__(self, p: TransactionPosted | TransactionPostedWire, fx: Fx, at: int) -> None:
        # either decode of the payload (wire_decode's struct or the pydantic model): equal fields
        currency = p.currency
        after = p.balance_after
        if currency == fx.reporting:
            self.amount: int = cents(p.amount)  # reporting cents, always positive
            self.after: int | None = None if after is None else cents(after)  # balance after
            self.skipped = False
        else:
            amount = fx.minor(p.amount, currency, at)
            # no rate: the posting counts as activity, its amount in no sum
            self.skipped = amount is None
            self.amount = 0 if amount is None else amount
            self.after = None if amount is None or after is None else fx.minor(after, currency, at)
        self.debit: bool = p.direction is _DEBIT
        own_bank = self.own_bank = p.counterparty_is_own_bank
        category, initiated = p.category, p.customer_initiated
        self.customer_initiated: bool = (
            initiated if initiated is not None else category not in BANK_INITIATED_CATEGORIES
        )
        self.online: bool = p.channel in _ONLINE
        # discretionary: what the customer does by choice that day (card purchases, cash,
        # transfers and payments they make), not the regular flows that go on by themselves
        # (salary, standing orders, batch-booked direct debits and card repayments): a fade of
        # engagement is judged on these, so continuing salary and bills do not hide it
        self.discretionary: bool = (
            self.customer_initiated
            and category is not _PAYROLL_CREDIT
            and p.standing_order_id is None
            and p.channel is not _BATCH
        )
        self.card_spend: bool = category is _CARD_SPEND
        self.payroll: bool = category is _PAYROLL_CREDIT
        self.penalty: bool = category is _PENALTY_INTEREST
        # money leaving: see ``LEAVING_KINDS``; a debit to another bank whose counterparty the
        # producer could not name is leaving unless it goes to a recurring payee (a standing
        # order here; a payee paid month after month: ``payee``, judged by the state update)
        self.leaving = False
        self.payee: str | None = None
        if self.debit and not own_bank and category not in NOT_LEAVING_CATEGORIES:
            kind = p.counterparty_kind
            if kind is None or kind is _UNKNOWN:
                if p.standing_order_id is None:
                    self.leaving = True
                    self.payee = p.counterparty_id
            elif kind in LEAVING_KINDS:
                self.leaving = True
