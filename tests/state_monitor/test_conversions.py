"""Exact shortcuts of the engine's hot path: epoch seconds, id fingerprints, snapshot times."""

import math
import struct
from binascii import b2a_base64
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from hashlib import blake2b

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnwatch_state_monitor.engine import snapshot
from churnwatch_state_monitor.engine.facts import (
    FINGERPRINT_CHARS,
    cents,
    epoch_seconds,
    event_fingerprint,
)
from churnwatch_state_monitor.engine.scoring import rounded, single_bit, strongest
from churnwatch_state_monitor.engine.state import CustomerState

OFFSETS = [
    timedelta(0),
    timedelta(hours=8),
    timedelta(hours=-5),
    timedelta(hours=5, minutes=45),
    timedelta(hours=-9, minutes=-30),
    timedelta(hours=23, minutes=59, seconds=59),
    timedelta(seconds=-1, microseconds=500_000),
]


@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 1, 1),
        datetime(2026, 3, 1, 23, 59, 59),
        datetime(1970, 1, 1),
        datetime(1969, 12, 31, 23, 59, 59, 250_000),
        datetime(1960, 6, 1, 12, 0, 0, 1),
        datetime(2031, 7, 15, 8, 30, 15, 999_999),
        datetime(9000, 1, 1, 0, 0, 0, 999_999),
        datetime(1, 1, 2),
        datetime(1970, 1, 1, 0, 0, 0, 1),
    ],
)
def test_epoch_seconds_truncate_like_the_float_timestamp(
    moment: datetime, offset: timedelta
) -> None:
    at = moment.replace(tzinfo=timezone(offset))
    assert epoch_seconds(at) == int(at.timestamp())


def test_epoch_seconds_of_parsed_event_times() -> None:
    from pydantic import AwareDatetime, TypeAdapter

    parse = TypeAdapter(AwareDatetime).validate_python
    for text in (
        "2025-01-01T00:00:00+08:00",
        "2025-06-30T23:59:59.5-03:30",
        "1969-12-31T23:59:59.75Z",
        "2026-03-01T00:00:00Z",
        "1969-12-31T23:59:59+00:00",
        "1900-02-28T12:34:56-09:30",
        "2025-12-31T23:59:59+14:00",
        "0001-01-02T00:00:00+23:59",
    ):
        at = parse(text)
        assert epoch_seconds(at) == int(at.timestamp()), text
    assert epoch_seconds(datetime(2026, 3, 1, tzinfo=UTC)) == 1_772_323_200


class _OddZone(tzinfo):
    """A tzinfo that does not return what ``datetime`` requires (or is not fixed)."""

    def __init__(self, offset: object) -> None:
        self.offset = offset

    def utcoffset(self, dt: datetime | None) -> object:  # type: ignore[override]
        return self.offset


class _Moment(datetime):
    """A datetime subclass (its own arithmetic is datetime's)."""


@pytest.mark.parametrize(
    "offset", [timedelta(days=1), timedelta(days=-1), timedelta(hours=-24), "+08:00", 28800, None]
)
def test_epoch_seconds_fail_as_datetime_arithmetic_does_on_an_odd_offset(offset: object) -> None:
    at = datetime(2025, 1, 1, tzinfo=_OddZone(offset))
    with pytest.raises((ValueError, TypeError)) as expected:
        at - datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(expected.type):
        epoch_seconds(at)


def test_epoch_seconds_of_naive_times_fail_and_of_subclasses_and_odd_zones_agree() -> None:
    with pytest.raises(TypeError):
        epoch_seconds(datetime(2025, 1, 1))
    for at in (
        _Moment(2025, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=3))),
        datetime(2025, 5, 6, 7, 8, 9, tzinfo=_OddZone(timedelta(hours=-2, seconds=1))),
        datetime(2025, 5, 6, 7, 8, 9, tzinfo=_OddZone(timedelta(microseconds=-1))),
        _Moment(1950, 1, 1, 0, 0, 1, 5, tzinfo=UTC),
    ):
        assert epoch_seconds(at) == int(at.timestamp()), at


@settings(max_examples=2000, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    offset_seconds=st.integers(min_value=-86_399, max_value=86_399),
    whole=st.booleans(),
)
def test_epoch_seconds_is_the_truncated_timestamp_for_any_time_and_offset(
    moment: datetime, offset_seconds: int, whole: bool
) -> None:
    zone = timezone(timedelta(seconds=offset_seconds))
    at = (moment.replace(microsecond=0) if whole else moment).replace(tzinfo=zone)
    assert epoch_seconds(at) == int(at.timestamp())


@pytest.mark.parametrize("event_id", ["sim-11-1", "", "é-ü-\u4e2d", "x" * 300])
def test_fingerprint_is_the_base64_of_a_six_byte_blake2b(event_id: str) -> None:
    expected = b2a_base64(blake2b(event_id.encode(), digest_size=6).digest(), newline=False)
    assert event_fingerprint(event_id) == expected.decode()
    assert len(event_fingerprint(event_id)) == FINGERPRINT_CHARS


def test_fingerprints_of_different_ids_differ_and_repeat_for_the_same_id() -> None:
    first = [event_fingerprint(f"sim-11-{i}") for i in range(1000)]
    assert len(set(first)) == 1000
    assert first == [event_fingerprint(f"sim-11-{i}") for i in range(1000)]


def test_snapshot_times_match_isoformat_across_days_and_a_cache_reset() -> None:
    stamps = [
        0,
        -1,
        59,
        3599,
        86_399,
        86_400,
        -86_401,
        951_782_400,
        1_772_323_199,
        253_402_300_799,
        -62_135_596_800,
        *range(1_700_000_000, 1_700_000_000 + 200_000, 7),
    ]
    stamps += [day * 86_400 + 45_296 for day in range(-5_000, 5_000)]  # more days than cached
    for stamp in stamps:
        expected = datetime.fromtimestamp(stamp, UTC).isoformat()
        assert snapshot.utc_iso(stamp) == expected, stamp
        assert snapshot.utc_iso(stamp) == expected, stamp  # from the cache


def test_state_field_values_are_every_field_in_declaration_order() -> None:
    names = [f.name for f in fields(CustomerState)]
    state = CustomerState()
    for i in range(1, len(names)):  # distinct values (the schema kept): a swap or a gap shows
        value = _distinct(getattr(state, names[i]), i)
        # of the field's type: schema 8 stores each field by its type (``state_codec``)
        if names[i] in ("since", "liquid"):  # optional integers
            value = i
        elif names[i] in ("payees", "mtx", "mamt"):  # lists of integers
            value = [i]
        setattr(state, names[i], value)
    assert state.field_values() == tuple(getattr(state, name) for name in names)
    assert CustomerState.decode(state.encode()).field_values() == state.field_values()


def _distinct(default: object, i: int) -> object:
    if isinstance(default, float):
        return i + 0.5
    if isinstance(default, str) or default is None:
        return f"f{i}"
    if isinstance(default, tuple):
        return (i,)
    if isinstance(default, list):
        return [[i] * 9]
    if isinstance(default, dict):
        return {f"k{i}": [i]}
    return i


def test_rounded_is_round_including_the_sign_of_zero() -> None:
    values = [
        0.0,
        -0.0,
        0.05,
        -0.05,
        0.15,
        2.675,
        1e-9,
        -1e-9,
        99.95,
        100.0,
        12.345678,
        float("inf"),
        float("-inf"),
        *(i / 7 for i in range(-500, 500)),
    ]
    for digits in (1, 2):
        for value in values:
            assert repr(rounded(value, digits)) == repr(round(value, digits)), (value, digits)
    assert repr(rounded(float("nan"), 1)) == "nan"


def _near(value: float, steps: int) -> list[float]:
    """``value`` and the doubles up to ``steps`` ulps either side of it."""
    (bits,) = struct.unpack("<q", struct.pack("<d", value))
    return [
        struct.unpack("<d", struct.pack("<q", bits + i))[0]
        for i in range(-steps, steps + 1)
        if 0 <= bits + i < 0x7FF0000000000000
    ]


def test_rounded_is_round_next_to_every_tie_and_at_the_limits_of_the_fast_path() -> None:
    ties = [(k + 0.5) / 10**digits for digits in (1, 2, 3) for k in range(3000)]
    ties += [
        2.0**40 / 10,
        2.0**40 / 100,
        2.0**40,
        1e15 + 0.25,
        4503599627370495.5,
        5e-324,
        2.2250738585072014e-308,
        1e-300,
        0.04,
        0.049999999999999996,
        0.95,
        1e22,
        1.7e308,
    ]
    for tie in ties:
        for value in _near(tie, 3):
            for signed in (value, -value):
                for digits in (0, 1, 2, 3, 4, 5, -1):
                    expected = round(signed, digits)
                    assert repr(rounded(signed, digits)) == repr(expected), (signed, digits)


@settings(max_examples=5000, deadline=None)
@given(
    value=st.floats(allow_nan=False) | st.floats(min_value=-1e4, max_value=1e4),
    digits=st.integers(min_value=-2, max_value=6),
)
def test_rounded_is_round_for_any_float(value: float, digits: int) -> None:
    assert repr(rounded(value, digits)) == repr(round(value, digits))


def test_rounded_is_round_on_a_dense_grid_of_scores() -> None:
    for i in range(-200_000, 200_001):
        value = i / 1999.0  # -100 .. 100, every few thousandths, no common factor with 10
        for digits in (1, 2):
            assert math.copysign(1.0, rounded(value, digits)) == math.copysign(
                1.0, round(value, digits)
            )
            assert rounded(value, digits) == round(value, digits), (value, digits)


def test_strongest_is_max_of_the_five_scores_in_their_order() -> None:
    nan = float("nan")
    cases = [
        (0.0, -0.0, 0.0, -0.0, 0.0),
        (-0.0, 0.0, -0.0, 0.0, -0.0),
        (1.0, 2.0, 3.0, 4.0, 5.0),
        (5.0, 4.0, 3.0, 2.0, 1.0),
        (7.5, 7.5, 1.0, 7.5, 0.0),
        (nan, 3.0, 9.0, 1.0, 2.0),
        (2.0, nan, 1.0, 3.0, nan),
        (0.0, 0.0, 0.0, 0.0, 100.0),
        (48.0, 80.0, 75.0, 70.0, 30.0),
    ]
    for case in cases:
        assert repr(strongest(*case)) == repr(max(*case)), case
    pool = [0.0, -0.0, 12.5, 30.0, 99.9, 100.0]
    for i in range(6**5):
        case = tuple(pool[i // 6**k % 6] for k in range(5))
        assert repr(strongest(*case)) == repr(max(*case)), case


def test_single_bit_is_a_bit_count_of_one() -> None:
    masks = [
        *range(-5000, 5000),
        *(1 << k for k in range(200)),
        *(-(1 << k) for k in range(200)),
        *((1 << k) + 1 for k in range(1, 200)),
        *((1 << k) - 1 for k in range(200)),
    ]
    for mask in masks:
        assert single_bit(mask) == (mask.bit_count() == 1), mask


def test_cents_round_half_even_like_the_decimal_context() -> None:
    texts = [
        "0",
        "-0.00",
        "12.05",
        "12.050000000000000000000000000000",
        "0.5",
        "0.005",
        "0.015",
        "0.025",
        "-0.025",
        "1.2345",
        "99.999",
        "1E+3",
        "7E-2",
        "-12.05",
        "0.01",
        "123456789012345.67",
        "12345678901234567890123456789.01",
        "-99999999999999.99",
        "1E-40",
        "5E-3",
        "-5E-3",
    ]
    texts += [f"{i}.{j:02d}" for i in range(0, 2000, 37) for j in range(0, 100, 9)]
    for text in texts:
        amount = Decimal(text)
        assert cents(amount) == int(amount.scaleb(2).to_integral_value()), text
