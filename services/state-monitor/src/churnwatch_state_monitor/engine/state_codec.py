"""Schema 8's stored form of the customer-state record: compact bytes instead of a JSON array.

Schema 1-7 records were a positional JSON array; the worst case (every list at its cap, every
amount and stamp full width) encoded to 2,137 bytes, over the 1 KiB a table value may take. Schema
8 keeps the same fields in the same order (``state.CustomerState``) and the same values, so the
engine decides exactly as before (a stored-format change only); what changes is how each value is
written:

- integers as zigzag varints (a count of 3 takes 1 byte, an amount of a billion in cents 6);
- floats (statistics: baselines, EWMA balances) as 8-byte IEEE doubles, bit for bit;
- 90-day and 365-day stamps, the cooldowns' stamps and the flow rows' weeks as offsets back from
  ``newest`` (a stamp within 90 days takes 4 bytes, not 10 digits and a comma);
- event-id fingerprints as their 6 raw bytes each instead of 8 base64 characters;
- a cooldown as one varint: the code's position in ``COOL_CODES`` (a code not in it is written
  out) and ``[stamp, rank]`` as offset x 4 + rank;
- counts and amounts in lists (flow rows, engagement periods, payees) as plain varints (they are
  never negative; a negative one is refused rather than stored wrong).

The first byte is the schema version (8); a JSON record starts with ``[`` (0x5B), which is how
``decode`` tells the forms apart: older records are read as JSON and upgraded as before.
"""

from __future__ import annotations

from binascii import a2b_base64, b2a_base64
from struct import Struct
from typing import Any, Final

from churnwatch_state_monitor.engine.buckets import WEEK

JSON_OPEN: Final = 0x5B  # "[": a schema 1-7 record

# How each field (in ``CustomerState`` order) is written
INT: Final = 0
OPT_INT: Final = 1  # None or an integer
FLOAT: Final = 2
OPT_STR: Final = 3
STR: Final = 4
SEEN: Final = 5  # base64 fingerprints, 8 characters (6 bytes) each
STAMPS: Final = 6  # a tuple of epoch seconds, as offsets back from ``newest``
INTS: Final = 7  # a list of integers
FLOW: Final = 8  # bucket rows, their week as an offset back from ``newest``'s week
COOL: Final = 9  # code -> [stamp (offset back from ``newest``), severity rank]

# The cooldown codes of the rules (``registry``), in a fixed order: append only, never reorder
# (a stored record names a code by its position here).
COOL_CODES: Final = ("ibo", "ibs", "pay", "dorm", "act", "cmp", "prd", "ovd", "cls", "band",
                     "churn", "decl")  # fmt: skip
_COOL_INDEX: Final = {code: i for i, code in enumerate(COOL_CODES)}

_DOUBLE = Struct("<d")
_NEWEST: Final = 1  # position of ``newest``: the base of every offset
# The record is assembled from byte strings joined once: a varint below 0x4000 is one of these
# shared objects, so most fields cost a list append (compiled, far cheaper than a list of byte
# values converted at the end, or a bytearray's method calls)
_ONE: Final = tuple(bytes((b,)) for b in range(0x80))
_TWO: Final = tuple(bytes(((z & 0x7F) | 0x80, z >> 7)) for z in range(0x80, 0x4000))
_ZERO: Final = _ONE[0]
_ON: Final = _ONE[1]


def _long(z: int) -> bytes:
    """The varint bytes of ``z`` >= 0x80: 7 bits a byte, low bits first."""
    if z < 0x4000:
        return _TWO[z - 0x80]
    v = (z & 0x7F) | 0x80
    z >>= 7
    size = 1
    while z > 0x7F:
        v |= ((z & 0x7F) | 0x80) << (size * 8)
        z >>= 7
        size += 1
    v |= z << (size * 8)
    return v.to_bytes(size + 1, "little")


def put_int(out: list[bytes], n: int) -> None:
    """Append one integer as a zigzag varint."""
    z = n + n if n >= 0 else -n - n - 1
    out.append(_ONE[z] if z < 0x80 else _long(z))


def put_plain(out: list[bytes], n: int) -> None:
    """Append a non-negative integer as a plain varint."""
    if n < 0:
        raise ValueError(f"state record: {n} in a list of counts and amounts (never negative)")
    out.append(_ONE[n] if n < 0x80 else _long(n))


def put_str(out: list[bytes], text: str) -> None:
    raw = text.encode()
    put_int(out, len(raw))
    out.append(raw)


def begin(version: int) -> list[bytes]:
    """A record's pieces so far: its version byte."""
    return [_ONE[version]]


def put_float(out: list[bytes], x: float) -> None:
    """Append a float as its 8-byte IEEE double."""
    out.append(_DOUBLE.pack(x))


def put_stamps(out: list[bytes], stamps: tuple[int, ...], newest: int) -> None:
    """Append a tuple of stamps: its length, then each as an offset back from ``newest``."""
    put_int(out, len(stamps))
    for stamp in stamps:
        put_int(out, newest - stamp)


def put_ints(out: list[bytes], ints: list[int]) -> None:
    """Append a list of counts or amounts: its length, then each as a plain varint."""
    put_int(out, len(ints))
    for m in ints:
        put_plain(out, m)


def put_flow(out: list[bytes], rows: list[list[int]], week: int) -> None:
    """Append bucket rows: each row's length, its week back from ``week``, its counts."""
    put_int(out, len(rows))
    for row in rows:
        put_int(out, len(row))
        put_int(out, week - row[0])
        for j in range(1, len(row)):
            put_plain(out, row[j])


def put_cool(out: list[bytes], cool: dict[str, list[int]], newest: int) -> None:
    """Append the cooldowns: their count, then each (``_put_cooldown``)."""
    put_int(out, len(cool))
    for code, memo in cool.items():
        _put_cooldown(out, code, memo, newest)


def put_opt_int(out: list[bytes], value: int | None) -> None:
    """Append 0 for None, else 1 and the integer."""
    if value is None:
        out.append(_ZERO)
    else:
        out.append(_ON)
        put_int(out, value)


def put_opt_str(out: list[bytes], value: str | None) -> None:
    """Append 0 for None, else 1 and the text."""
    if value is None:
        out.append(_ZERO)
    else:
        out.append(_ON)
        put_str(out, value)


def encode(values: tuple[Any, ...], kinds: tuple[int, ...]) -> bytes:
    """The record bytes for ``values`` (the fields in order; the first is the schema version).

    The generic form, driven by ``kinds`` (any schema's layout); ``state_fields.encode_state``
    writes the current schema's fields straight from a record with the same helpers."""
    version: int = values[0]
    out = begin(version)
    newest: int = values[_NEWEST]
    week = newest // WEEK
    # each value is taken at its concrete type: compiled, the helpers then run on unboxed
    # integers and typed lists instead of generic iteration over ``Any``
    for i in range(1, len(kinds)):
        kind = kinds[i]
        value = values[i]
        if kind == INT:
            n: int = value
            put_int(out, n)
        elif kind == FLOAT:
            put_float(out, value)
        elif kind == STAMPS:
            put_stamps(out, value, newest)
        elif kind == INTS:
            put_ints(out, value)
        elif kind == FLOW:
            put_flow(out, value, week)
        elif kind == COOL:
            put_cool(out, value, newest)
        elif kind == OPT_INT:
            put_opt_int(out, value)
        elif kind == OPT_STR:
            put_opt_str(out, value)
        elif kind == STR:
            put_str(out, value)
        else:  # SEEN
            put_seen(out, value)
    return b"".join(out)


def put_seen(out: list[bytes], seen: str) -> None:
    """Fingerprints as raw bytes (length x 2 + 1), or as text (length x 2) if ``seen`` is not
    whole base64 groups that re-encode to itself (then it cannot be stored as bytes)."""
    raw = b""
    if len(seen) % 4 == 0:
        try:
            raw = a2b_base64(seen)
        except ValueError:
            raw = b""
    if raw and b2a_base64(raw, newline=False).decode() == seen:
        put_plain(out, len(raw) * 2 + 1)
        out.append(raw)
    else:
        text = seen.encode()
        put_plain(out, len(text) * 2)
        out.append(text)


def _put_cooldown(out: list[bytes], code: str, memo: list[int], newest: int) -> None:
    """One cooldown: (code position + 1) x 2 + 1 when ``memo`` is [stamp, rank 0-3], then
    offset x 4 + rank; otherwise 0 and the code's text, or the position x 2, then the list."""
    index = _COOL_INDEX.get(code, -1)
    packed = len(memo) == 2 and 0 <= memo[1] <= 3 and memo[0] <= newest
    if index >= 0 and packed:
        put_plain(out, (index + 1) * 2 + 1)
        put_plain(out, (newest - memo[0]) * 4 + memo[1])
        return
    if index >= 0:
        put_plain(out, (index + 1) * 2)
    else:
        out.append(_ZERO)
        put_str(out, code)
    put_int(out, len(memo))
    for n in memo:
        put_int(out, n)


class _Reader:
    """A cursor over record bytes."""

    __slots__ = ("at", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.at = 1  # after the version byte

    def read_int(self) -> int:
        raw = self.raw
        z = 0
        shift = 0
        while True:
            b = raw[self.at]
            self.at += 1
            z |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
        return z >> 1 if not z & 1 else -(z >> 1) - 1

    def read_plain(self) -> int:
        raw = self.raw
        n = 0
        shift = 0
        while True:
            b = raw[self.at]
            self.at += 1
            n |= (b & 0x7F) << shift
            if b < 0x80:
                return n
            shift += 7

    def read_bytes(self, n: int) -> bytes:
        start = self.at
        self.at += n
        if self.at > len(self.raw):
            raise ValueError(f"state record truncated at byte {start} (needs {n} more bytes)")
        return self.raw[start : self.at]

    def read_str(self) -> str:
        return self.read_bytes(self.read_int()).decode()


def decode(raw: bytes, kinds: tuple[int, ...]) -> list[Any]:
    """The field values (in order) of schema-8 record bytes."""
    r = _Reader(raw)
    values: list[Any] = [raw[0]]
    newest = 0
    for i in range(1, len(kinds)):
        kind = kinds[i]
        value: Any
        if kind == INT:
            value = r.read_int()
        elif kind == FLOAT:
            value = _DOUBLE.unpack(r.read_bytes(8))[0]
        elif kind == STAMPS:
            value = tuple(newest - r.read_int() for _ in range(r.read_int()))
        elif kind == INTS:
            value = [r.read_plain() for _ in range(r.read_int())]
        elif kind == FLOW:
            week = newest // WEEK
            rows: list[list[int]] = []
            for _ in range(r.read_int()):
                n = r.read_int()
                row = [week - r.read_int()]
                row.extend(r.read_plain() for _ in range(n - 1))
                rows.append(row)
            value = rows
        elif kind == COOL:
            cool: dict[str, list[int]] = {}
            for _ in range(r.read_int()):
                head = r.read_plain()
                code = COOL_CODES[(head >> 1) - 1] if head else r.read_str()
                if head & 1:
                    packed = r.read_plain()
                    cool[code] = [newest - (packed >> 2), packed & 3]
                else:
                    cool[code] = [r.read_int() for _ in range(r.read_int())]
            value = cool
        elif kind == OPT_INT:
            value = r.read_int() if r.read_bytes(1)[0] else None
        elif kind == OPT_STR:
            value = r.read_str() if r.read_bytes(1)[0] else None
        elif kind == STR:
            value = r.read_str()
        else:  # SEEN
            head = r.read_plain()
            seen = r.read_bytes(head >> 1)
            value = b2a_base64(seen, newline=False).decode() if head & 1 else seen.decode()
        if i == _NEWEST:
            newest = value
        values.append(value)
    if r.at != len(raw):
        raise ValueError(f"state record has {len(raw) - r.at} bytes after its last field")
    return values
