"""The monitor's hot-path decoder (``wire_decode``) against the contract's pydantic models.

The fast path may refuse whatever it likes (pydantic then decides), but it must never accept an
input pydantic refuses, and what it accepts must equal pydantic's model field by field, with the
same Python types. ``decode_event`` must refuse exactly as ``parse_event`` does, word for word.
Every test here compares against ``parse_event`` itself: no expected value is written down.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from pydantic import BaseModel, ValidationError

from churnwatch_shared import wire_decode
from churnwatch_shared.events import EVENT_MODELS, EventType, parse_event
from churnwatch_shared.wire_decode import decode_event, decode_fast
from tests.shared.wire_strategies import FAST_KINDS, events, mutated

# --- comparing a struct with a pydantic model ---------------------------------------------------


def _dump(obj: object) -> object:
    """A struct as pydantic's ``model_dump()`` shapes a model: nested dicts, the tag included."""
    if isinstance(obj, msgspec.Struct):
        out: dict[str, object] = {}
        tag = type(obj).__struct_config__.tag
        if isinstance(tag, str):
            out["event_type"] = tag
        for name in obj.__struct_fields__:
            out[name] = _dump(getattr(obj, name))
        return out
    if isinstance(obj, list):
        return [_dump(x) for x in obj]
    return obj


def _same(fast: object, slow: object, where: str = "$") -> None:
    """Equal values of the same Python type; datetimes also with the same UTC offset."""
    if isinstance(slow, dict):
        assert isinstance(fast, dict), where
        assert fast.keys() == slow.keys(), where
        for key in slow:
            _same(fast[key], slow[key], f"{where}.{key}")
        return
    if isinstance(slow, list):
        assert isinstance(fast, list), where
        assert len(fast) == len(slow), where
        for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
            _same(a, b, f"{where}[{i}]")
        return
    assert type(fast) is type(slow), f"{where}: {type(fast)} vs {type(slow)}"
    assert fast == slow, f"{where}: {fast!r} vs {slow!r}"
    if isinstance(slow, Enum):
        assert fast is slow, where  # the engine compares members with ``is``
    if isinstance(slow, Decimal):
        assert str(fast) == str(slow), where  # same digits and exponent, not only equal
    if isinstance(slow, datetime):
        assert isinstance(fast, datetime), where
        assert fast.utcoffset() == slow.utcoffset(), where
        assert fast.isoformat() == slow.isoformat(), where


def _errors(exc: ValidationError) -> list[tuple[object, ...]]:
    return [(e["type"], e["loc"], e["msg"]) for e in exc.errors()]


def _check(raw: bytes | str) -> str:
    """Assert the fast path agrees with pydantic on ``raw``; say which way it went."""
    try:
        slow: Any = parse_event(raw)
    except ValidationError as exc:
        assert decode_fast(raw) is None, f"fast path accepted what pydantic refuses: {raw!r}"
        with pytest.raises(ValidationError) as caught:
            decode_event(raw)
        assert _errors(caught.value) == _errors(exc)
        assert str(caught.value) == str(exc)
        return "refused"
    fast = decode_fast(raw)
    if fast is not None:
        _same(_dump(fast), slow.model_dump())
        assert fast.event_type == slow.event_type
    decoded = decode_event(raw)
    expected = slow.model_dump()
    got = _dump(decoded) if isinstance(decoded, msgspec.Struct) else decoded.model_dump()
    _same(got, expected)
    return "fast" if fast is not None else "fallback"


# --- the tests ----------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_valid_events_decode_to_what_pydantic_makes(event: dict[str, Any]) -> None:
    raw = json.dumps(event).encode()
    outcome = _check(raw)
    if event["event_type"] in FAST_KINDS:
        assert outcome == "fast", raw  # the hot path takes the common events it was built for
    else:
        assert outcome == "fallback"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
@example(
    b'{"event_id":"e","occurred_at":"2025-01-01T00:00:00.1234567Z","customer_id":"c","event_type":"balance.snapshot","payload":{"as_of":"2025-01-01","balances":[{"account_id":"a","product_kind":"demand","balance":"1","currency":"CNY"}]}}'
)
def test_mutated_events_agree_with_pydantic(raw: bytes | str) -> None:
    _check(raw)


_BASE_TXN: dict[str, Any] = {
    "event_id": "e-1",
    "occurred_at": "2025-01-02T07:02:49+08:00",
    "customer_id": "C1",
    "account_id": "C1-D",
    "event_type": "transaction.posted",
    "payload": {
        "direction": "debit",
        "amount": "133.68",
        "currency": "CNY",
        "channel": "mobile",
        "category": "card_spend",
    },
}
_BASE_SUBSCRIPTION: dict[str, Any] = {
    "event_id": "e-3",
    "occurred_at": "2025-01-02T07:02:49.5+05:30",
    "customer_id": "C1",
    "event_type": "product.subscribed",
    "payload": {
        "product": "credit_card",
        "variant": "gold",
        "credit_limit": "5000",
        "currency": "CNY",
    },
}
_BASE_SNAPSHOT: dict[str, Any] = {
    "event_id": "e-2",
    "occurred_at": "2025-01-02T07:02:49Z",
    "customer_id": "C1",
    "event_type": "balance.snapshot",
    "payload": {
        "as_of": "2025-01-01",
        "balances": [
            {
                "account_id": "C1-D",
                "product_kind": "demand",
                "balance": "-5.00",
                "currency": "CNY",
                "overdraft_limit": "100",
            },
            {
                "account_id": "C1-K",
                "product_kind": "card",
                "balance": "20",
                "currency": "EUR",
                "credit_limit": "0",
            },
        ],
    },
}


def _variant(base: dict[str, Any], path: str, value: Any) -> bytes:
    event = json.loads(json.dumps(base))
    *parents, last = path.split(".")
    obj = event
    for key in parents:
        obj = obj[int(key)] if isinstance(obj, list) else obj[key]
    if isinstance(obj, list):
        obj[int(last)] = value
    else:
        obj[last] = value
    return json.dumps(event).encode()


# Each trap named in the issue, as a fixed case (hypothesis finds them too, not always quickly).
_TRAPS: list[tuple[str, bytes]] = [
    ("amount as a JSON number", _variant(_BASE_TXN, "payload.amount", 133.68)),
    ("amount with an exponent", _variant(_BASE_TXN, "payload.amount", "1e5")),
    ("amount zero", _variant(_BASE_TXN, "payload.amount", "0.00")),
    ("amount negative", _variant(_BASE_TXN, "payload.amount", "-1")),
    ("amount padded", _variant(_BASE_TXN, "payload.amount", " 1.00")),
    ("amount with a trailing newline", _variant(_BASE_TXN, "payload.amount", "1.00\n")),
    ("amount with five decimals", _variant(_BASE_TXN, "payload.amount", "1.00001")),
    ("id with a trailing newline", _variant(_BASE_TXN, "customer_id", "C1\n")),
    ("id padded", _variant(_BASE_TXN, "event_id", "  e-1 ")),
    ("currency padded", _variant(_BASE_TXN, "payload.currency", "CNY ")),
    ("seven fraction digits", _variant(_BASE_TXN, "occurred_at", "2025-01-02T07:02:49.9999999Z")),
    ("nine fraction digits", _variant(_BASE_TXN, "occurred_at", "2025-01-02T07:02:49.123456789Z")),
    ("no time zone", _variant(_BASE_TXN, "occurred_at", "2025-01-02T07:02:49")),
    ("unknown payload field", _variant(_BASE_TXN, "payload.memo", "x")),
    ("unknown envelope field", _variant(_BASE_TXN, "memo", "x")),
    ("income kind on a debit", _variant(_BASE_TXN, "payload.income_kind", "salary")),
    ("bad enum", _variant(_BASE_TXN, "payload.channel", "fax")),
    ("bool as text", _variant(_BASE_TXN, "payload.counterparty_is_own_bank", "false")),
    ("schema version 2", _variant(_BASE_TXN, "schema_version", 2)),
    ("no balances", _variant(_BASE_SNAPSHOT, "payload.balances", [])),
    (
        "501 balances",
        _variant(
            _BASE_SNAPSHOT,
            "payload.balances",
            _BASE_SNAPSHOT["payload"]["balances"] * 250
            + [_BASE_SNAPSHOT["payload"]["balances"][0]],
        ),
    ),
    ("negative limit", _variant(_BASE_SNAPSHOT, "payload.balances.0.overdraft_limit", "-1")),
    (
        "negative zero limit",
        _variant(_BASE_SNAPSHOT, "payload.balances.0.overdraft_limit", "-0.00"),
    ),
    ("as_of as a datetime", _variant(_BASE_SNAPSHOT, "payload.as_of", "2025-01-01T00:00:00Z")),
    ("balance as a number", _variant(_BASE_SNAPSHOT, "payload.balances.1.balance", 20)),
    (
        "duplicate amount",
        json.dumps(_BASE_TXN)
        .replace('"amount": "133.68"', '"amount": "133.68", "amount": "2.00"')
        .encode(),
    ),
    (
        "duplicate amount, first a number",
        json.dumps(_BASE_TXN)
        .replace('"amount": "133.68"', '"amount": 5, "amount": "2.00"')
        .encode(),
    ),
    (
        "duplicate event type",
        json.dumps(_BASE_TXN)
        .replace(
            '"event_type": "transaction.posted"',
            '"event_type": "balance.snapshot", "event_type": "transaction.posted"',
        )
        .encode(),
    ),
    ("trailing newline after the JSON", json.dumps(_BASE_TXN).encode() + b"\n"),
    ("a byte-order mark", b"\xef\xbb\xbf" + json.dumps(_BASE_TXN).encode()),
    ("variant padded", _variant(_BASE_SUBSCRIPTION, "payload.variant", " gold")),
    ("variant with a tab", _variant(_BASE_SUBSCRIPTION, "payload.variant", "go\tld")),
    ("variant empty", _variant(_BASE_SUBSCRIPTION, "payload.variant", "")),
    ("variant of 65 characters", _variant(_BASE_SUBSCRIPTION, "payload.variant", "v" * 65)),
    ("variant not ASCII", _variant(_BASE_SUBSCRIPTION, "payload.variant", "Gold\u00e9")),
    ("credit limit without a currency", _variant(_BASE_SUBSCRIPTION, "payload.currency", None)),
    ("credit limit negative zero", _variant(_BASE_SUBSCRIPTION, "payload.credit_limit", "-0")),
    ("not JSON", b"{"),
    ("empty", b""),
]


@pytest.mark.parametrize(("name", "raw"), _TRAPS, ids=[n for n, _ in _TRAPS])
def test_known_traps_agree_with_pydantic(name: str, raw: bytes) -> None:
    _check(raw)


def test_the_plain_events_take_the_fast_path() -> None:
    for base in (_BASE_TXN, _BASE_SNAPSHOT, _BASE_SUBSCRIPTION):
        assert _check(json.dumps(base).encode()) == "fast"


def test_an_undecodable_record_fails_as_parse_event_does() -> None:
    for raw in (None, 5):
        with pytest.raises(Exception) as slow:  # the exact type is compared
            parse_event(raw)  # type: ignore[arg-type]
        with pytest.raises(Exception) as fast:
            decode_event(raw)  # type: ignore[arg-type]
        assert type(fast.value) is type(slow.value)
        assert str(fast.value) == str(slow.value)


# --- one statement of the contract ---------------------------------------------------------------


def _pydantic_fields(model: type[BaseModel]) -> dict[str, object]:
    """Field name -> default (``REQUIRED`` when it has none), the tag left out."""
    return {
        name: ("REQUIRED" if info.is_required() else info.get_default(call_default_factory=True))
        for name, info in model.model_fields.items()
        if name != "event_type"
    }


def _struct_fields(struct: type[msgspec.Struct]) -> dict[str, object]:
    return {
        f.name: (
            "REQUIRED"
            if f.required
            else (f.default if f.default is not msgspec.NODEFAULT else f.default_factory())
        )
        for f in msgspec.structs.fields(struct)
    }


@pytest.mark.parametrize("pair", wire_decode.WIRE_MODELS, ids=lambda p: p[0].__name__)
def test_wire_structs_state_the_same_fields_and_defaults_as_the_contract(
    pair: tuple[type[msgspec.Struct], type[BaseModel]],
) -> None:
    struct, model = pair
    assert _struct_fields(struct) == _pydantic_fields(model)
    for name, info in model.model_fields.items():
        if name == "event_type":
            continue
        # the same vocabulary: an enum field of the contract is the same enum in the struct
        wire = msgspec.structs.fields(struct)[
            [f.name for f in msgspec.structs.fields(struct)].index(name)
        ]
        enums = _enums_of(info.annotation)
        if enums:
            assert _enums_of(wire.type) == enums, name


def _enums_of(annotation: object) -> set[type[Enum]]:
    found: set[type[Enum]] = set()
    stack = [annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, Enum):
            found.add(item)
        stack.extend(getattr(item, "__args__", ()))
        origin = getattr(item, "__origin__", None)
        if origin is not None:
            stack.append(origin)
    return found


def test_every_event_struct_is_tagged_with_its_contract_event_type() -> None:
    for struct, model in wire_decode.WIRE_MODELS:
        tag = struct.__struct_config__.tag
        if tag is None:
            continue
        assert isinstance(tag, str)
        assert EVENT_MODELS[EventType(tag)] is model
        assert struct.event_type == tag  # type: ignore[attr-defined]
