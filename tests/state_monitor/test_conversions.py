"""Exact shortcuts of the engine's hot path: epoch seconds, id fingerprints, snapshot times."""

from binascii import b2a_base64
from dataclasses import fields
from decimal import Decimal
from datetime import UTC, datetime, timedelta, timezone
from hashlib import blake2b

import pytest

from churnwatch_state_monitor import snapshot
from churnwatch_state_monitor.facts import (
    FINGERPRINT_CHARS,
    cents,
    epoch_seconds,
    event_fingerprint,
)
from churnwatch_state_monitor.scoring import rounded
from churnwatch_state_monitor.state import CustomerState

OFFSETS = [timedelta(0), timedelta(hours=8), timedelta(hours=-5), timedelta(hours=5, minutes=45),
           timedelta(hours=-9, minutes=-30), timedelta(hours=23, minutes=59, seconds=59),
           timedelta(seconds=-1, microseconds=500_000)]


@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("moment", [
    datetime(2025, 1, 1), datetime(2026, 3, 1, 23, 59, 59), datetime(1970, 1, 1),
    datetime(1969, 12, 31, 23, 59, 59, 250_000), datetime(1960, 6, 1, 12, 0, 0, 1),
    datetime(2031, 7, 15, 8, 30, 15, 999_999), datetime(9000, 1, 1, 0, 0, 0, 999_999),
    datetime(1, 1, 2), datetime(1970, 1, 1, 0, 0, 0, 1),
])
def test_epoch_seconds_truncate_like_the_float_timestamp(moment: datetime,
                                                         offset: timedelta) -> None:
    at = moment.replace(tzinfo=timezone(offset))
    assert epoch_seconds(at) == int(at.timestamp())


def test_epoch_seconds_of_parsed_event_times() -> None:
    from pydantic import AwareDatetime, TypeAdapter

    parse = TypeAdapter(AwareDatetime).validate_python
    for text in ("2025-01-01T00:00:00+08:00", "2025-06-30T23:59:59.5-03:30",
                 "1969-12-31T23:59:59.75Z", "2026-03-01T00:00:00Z"):
        at = parse(text)
        assert epoch_seconds(at) == int(at.timestamp()), text
    assert epoch_seconds(datetime(2026, 3, 1, tzinfo=UTC)) == 1_772_323_200


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
    stamps = [0, -1, 59, 3599, 86_399, 86_400, -86_401, 951_782_400, 1_772_323_199,
              253_402_300_799, -62_135_596_800, *range(1_700_000_000, 1_700_000_000 + 200_000, 7)]
    stamps += [day * 86_400 + 45_296 for day in range(-5_000, 5_000)]  # more days than cached
    for stamp in stamps:
        expected = datetime.fromtimestamp(stamp, UTC).isoformat()
        assert snapshot.utc_iso(stamp) == expected, stamp
        assert snapshot.utc_iso(stamp) == expected, stamp  # from the cache


def test_state_field_values_are_every_field_in_declaration_order() -> None:
    names = [f.name for f in fields(CustomerState)]
    state = CustomerState()
    for i in range(1, len(names)):  # distinct values (the schema kept): a swap or a gap shows
        try:
            setattr(state, names[i], _distinct(getattr(state, names[i]), i))
        except TypeError:  # compiled: an optional integer field
            setattr(state, names[i], i)
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
    values = [0.0, -0.0, 0.05, -0.05, 0.15, 2.675, 1e-9, -1e-9, 99.95, 100.0, 12.345678,
              float("inf"), float("-inf"), *(i / 7 for i in range(-500, 500))]
    for digits in (1, 2):
        for value in values:
            assert repr(rounded(value, digits)) == repr(round(value, digits)), (value, digits)
    assert repr(rounded(float("nan"), 1)) == "nan"


def test_cents_round_half_even_like_the_decimal_context() -> None:
    texts = ["0", "-0.00", "12.05", "12.050000000000000000000000000000", "0.5", "0.005", "0.015",
             "0.025", "-0.025", "1.2345", "99.999", "1E+3", "7E-2", "-12.05", "0.01",
             "123456789012345.67", "12345678901234567890123456789.01", "-99999999999999.99",
             "1E-40", "5E-3", "-5E-3"]
    texts += [f"{i}.{j:02d}" for i in range(0, 2000, 37) for j in range(0, 100, 9)]
    for text in texts:
        amount = Decimal(text)
        assert cents(amount) == int(amount.scaleb(2).to_integral_value()), text
