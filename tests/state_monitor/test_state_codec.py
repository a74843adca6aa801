"""Schema 8+'s stored form (``engine/state_codec``) against a plain statement of the format.

The codec is written for speed (compiled, shared byte strings joined once); what it writes must
stay exactly the format the stored records have: a change of bytes would need a new schema
version. ``_reference`` below states the format the simple way (one list of byte values, as the
first schema-8 encoder did) and every record the strategies make must encode to the same bytes
and decode to the same values, at the edges too: negative and very large integers, multi-byte
varints, unknown cooldown codes, fingerprints that are not whole base64 groups.
"""

from __future__ import annotations

import struct
from binascii import a2b_base64, b2a_base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnwatch_state_monitor.engine import state_codec, state_fields
from churnwatch_state_monitor.engine.buckets import WEEK
from churnwatch_state_monitor.engine.state import _KINDS, STATE_SCHEMA, CustomerState

C = state_codec


def _zigzag(out: list[int], n: int) -> None:
    z = n * 2 if n >= 0 else -n * 2 - 1
    _plain(out, z)


def _plain(out: list[int], n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _text(out: list[int], text: str) -> None:
    raw = text.encode()
    _zigzag(out, len(raw))
    out.extend(raw)


def _reference(values: tuple[Any, ...]) -> bytes:
    """The stored form, stated plainly (see the module docstring of ``state_codec``)."""
    out = [values[0]]
    newest = values[1]
    for kind, value in zip(_KINDS[1:], values[1:], strict=True):
        if kind == C.INT:
            _zigzag(out, value)
        elif kind == C.FLOAT:
            out.extend(struct.pack("<d", value))
        elif kind == C.STAMPS:
            _zigzag(out, len(value))
            for stamp in value:
                _zigzag(out, newest - stamp)
        elif kind == C.INTS:
            _zigzag(out, len(value))
            for n in value:
                _plain(out, n)
        elif kind == C.FLOW:
            _zigzag(out, len(value))
            for row in value:
                _zigzag(out, len(row))
                _zigzag(out, newest // WEEK - row[0])
                for n in row[1:]:
                    _plain(out, n)
        elif kind == C.COOL:
            _zigzag(out, len(value))
            for code, memo in value.items():
                index = C.COOL_CODES.index(code) if code in C.COOL_CODES else -1
                if index >= 0 and len(memo) == 2 and 0 <= memo[1] <= 3 and memo[0] <= newest:
                    _plain(out, (index + 1) * 2 + 1)
                    _plain(out, (newest - memo[0]) * 4 + memo[1])
                    continue
                if index >= 0:
                    _plain(out, (index + 1) * 2)
                else:
                    out.append(0)
                    _text(out, code)
                _zigzag(out, len(memo))
                for n in memo:
                    _zigzag(out, n)
        elif kind in (C.OPT_INT, C.OPT_STR):
            out.append(0 if value is None else 1)
            if value is not None:
                (_zigzag if kind == C.OPT_INT else _text)(out, value)
        elif kind == C.STR:
            _text(out, value)
        else:  # SEEN: raw bytes when the text is whole base64 groups that re-encode to itself
            raw = b""
            if len(value) % 4 == 0:
                try:
                    raw = a2b_base64(value)
                except ValueError:
                    raw = b""
            if raw and b2a_base64(raw, newline=False).decode() == value:
                _plain(out, len(raw) * 2 + 1)
                out.extend(raw)
            else:
                _plain(out, len(value.encode()) * 2)
                out.extend(value.encode())
    return bytes(out)


_BIG = st.integers(min_value=-(2**70), max_value=2**70)
_COUNT = st.integers(min_value=0, max_value=2**66)
_NEWEST = st.integers(min_value=0, max_value=4_000_000_000)
_CODE = st.sampled_from(C.COOL_CODES) | st.text(max_size=6)
_MEMO = st.tuples(_BIG, st.integers(min_value=0, max_value=3)).map(list) | st.lists(
    _BIG, max_size=3
)
_SEEN = st.binary(max_size=30).map(lambda b: b2a_base64(b, newline=False).decode()) | st.text(
    max_size=20
)


def _value(kind: int) -> st.SearchStrategy[Any]:
    return {
        C.INT: _BIG,
        C.OPT_INT: st.none() | _BIG,
        C.FLOAT: st.floats(allow_nan=False),
        C.OPT_STR: st.none() | st.text(max_size=12),
        C.STR: st.text(max_size=70),
        C.SEEN: _SEEN,
        C.STAMPS: st.lists(_BIG, max_size=5).map(tuple),
        C.INTS: st.lists(_COUNT, max_size=14),
        C.FLOW: st.lists(
            st.tuples(_BIG, st.lists(_COUNT, max_size=9)).map(lambda r: [r[0], *r[1]]), max_size=7
        ),
        C.COOL: st.dictionaries(_CODE, _MEMO, max_size=6),
    }[kind]


@st.composite
def _records(draw: st.DrawFn) -> tuple[Any, ...]:
    values = [STATE_SCHEMA, draw(_NEWEST)]
    values += [draw(_value(kind)) for kind in _KINDS[2:]]
    return tuple(values)


@settings(max_examples=300, deadline=None)
@given(values=_records())
def test_the_codec_writes_the_format_as_stated_and_reads_it_back(values: tuple[Any, ...]) -> None:
    raw = C.encode(values, _KINDS)
    assert raw == _reference(values)
    assert tuple(C.decode(raw, _KINDS)) == values


def test_a_default_record_and_multi_byte_varints_at_their_edges() -> None:
    """Each varint length boundary (1, 2, 3 ... bytes; zigzag and plain) on a real record."""
    state = CustomerState()
    assert CustomerState.decode(state.encode()) == state
    for n in (0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000, 2**63 - 1, 2**63, 2**64 + 5):
        for value in (n, -n, n // 2, -(n // 2) - 1):
            state.events = value
            state.mtx = [abs(value)]
            raw = state.encode()
            assert raw == _reference(state.field_values())
            assert CustomerState.decode(raw) == state


def test_a_negative_count_in_a_list_is_refused_not_stored_wrong() -> None:
    state = CustomerState(mtx=[3, -1])
    with pytest.raises(ValueError, match="never negative"):
        state.encode()


@settings(max_examples=300, deadline=None)
@given(values=_records())
def test_a_record_written_field_by_field_is_the_generic_encoding(values: tuple[Any, ...]) -> None:
    """``CustomerState.encode`` (``state_fields``, the worker's path) writes the bytes of the
    generic codec over ``field_values``: every field, in declaration order, at its own kind (a
    field missing or out of place in ``state_fields`` fails here)."""
    state = CustomerState(*values)
    assert state.field_values() == values
    raw = state.encode()
    assert raw == state_fields.encode_state(state)
    assert raw == C.encode(values, _KINDS)
    assert raw == _reference(values)
    assert CustomerState.decode(raw) == state
