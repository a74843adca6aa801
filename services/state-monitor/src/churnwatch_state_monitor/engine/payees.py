"""Recurring payees: a payee paid month after month is a bill or rent, not money leaving.

Each remembered payee is one integer in the customer's record: 24 bits of the payee id's CRC-32,
the newest calendar month paid (modulo 4096) and 8 bits, bit i = paid i months before it.
"""

from __future__ import annotations

from binascii import crc32
from datetime import UTC, datetime
from typing import Final

PAYEES_KEPT: Final = 4  # payees of unknown kind remembered to recognise recurring ones


def recurring(payees: list[int], payee: str, at: int) -> bool:
    """Remember a payment to ``payee`` in ``payees`` (in place); whether it was paid in 3 or
    more of the last 4 calendar months (this one included). ``PAYEES_KEPT`` payees are kept; the
    least recent payee is replaced."""
    key = crc32(payee.encode()) & 0xFFFFFF
    when = datetime.fromtimestamp(at, UTC)
    month = (when.year * 12 + when.month - 1) % 4096
    index = -1
    for i, packed in enumerate(payees):
        if packed >> 20 == key:
            index = i
            break
    if index < 0:
        if len(payees) >= PAYEES_KEPT:  # the payee paid longest ago makes room
            oldest = 0
            for i, packed in enumerate(payees):
                if (month - (packed >> 8 & 0xFFF)) % 4096 > (
                    month - (payees[oldest] >> 8 & 0xFFF)
                ) % 4096:
                    oldest = i
            del payees[oldest]
        payees.append(key << 20 | month << 8)
        index = len(payees) - 1
    packed = payees[index]
    newest, mask = packed >> 8 & 0xFFF, packed & 0xFF
    shift = (month - newest) % 4096
    if shift < 2048:  # this month or later: the window moves on
        mask = (mask << shift) & 0xFF | 1
        newest = month
    elif 4096 - shift < 8:  # a late posting in an earlier month
        mask |= 1 << (4096 - shift)
    payees[index] = key << 20 | newest << 8 | mask
    return (mask & 0xF).bit_count() >= 3
