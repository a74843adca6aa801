"""The monitor's hot-path decoder (``wire_decode``) against the contract's pydantic models.

The fast path may refuse whatever it likes (pydantic then decides), but it must never accept an
input pydantic refuses, and what it accepts must equal pydantic's model field by field, with the
same Python types. ``decode_event`` must refuse exactly as ``parse_event`` does, word for word.
Every test here compares against ``parse_event`` itself: no expected value is written down.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from churnwatch_shared import wire_decode
from churnwatch_shared.codes import CounterpartyKind, IncomeKind
from churnwatch_shared.event_vocab import Channel, Direction, ProductKind, TransactionCategory
from churnwatch_shared.events import EVENT_MODELS, EventType, parse_event
from churnwatch_shared.money import ISO_4217_CURRENCIES
from churnwatch_shared.wire_decode import decode_event, decode_fast

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


# --- valid events -------------------------------------------------------------------------------

_ID_HEAD = "ABCXYZabcxyz0189"
_ID_TAIL = _ID_HEAD + "._:@/-"
identifiers = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(_ID_HEAD),
    st.text(alphabet=_ID_TAIL, max_size=12),
)
currencies = st.sampled_from(sorted(ISO_4217_CURRENCIES))


@st.composite
def amount_texts(draw: st.DrawFn, *, sign: str) -> str:
    whole = draw(st.integers(min_value=0, max_value=10**16 - 1))
    places = draw(st.integers(min_value=0, max_value=4))
    zeros = draw(st.integers(min_value=0, max_value=2))
    text = "0" * zeros + str(whole)
    text = text[-16:]
    if places:
        text += "." + "".join(
            draw(st.lists(st.sampled_from("0123456789"), min_size=places, max_size=places))
        )
    if sign == "positive" and Decimal(text) == 0:
        text = "1" + text[1:] if len(text) > 1 else "1"
    if sign == "any" and draw(st.booleans()):
        text = "-" + text
    return text


# naive bounds: the strategy draws wall-clock times, the offset is drawn apart
_EARLIEST = datetime(1971, 1, 1)  # noqa: DTZ001
_LATEST = datetime(2099, 12, 31)  # noqa: DTZ001


@st.composite
def times(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=_EARLIEST, max_value=_LATEST))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    digits = draw(st.integers(min_value=0, max_value=6))
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    minutes = draw(st.sampled_from([0, 0, 480, -300, 330, 765, -(23 * 60 + 59), 23 * 60 + 59]))
    if minutes == 0 and draw(st.booleans()):
        return text + "Z"
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(_ABSENT), st.none(), strategy)


_ABSENT = object()


def _fields(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of the drawn fields, leaving out those drawn as absent."""
    return st.fixed_dictionaries(strategies).map(
        lambda d: {k: v for k, v in d.items() if v is not _ABSENT}
    )


def _values(enum: type[Enum]) -> st.SearchStrategy[str]:
    return st.sampled_from([m.value for m in enum])


@st.composite
def transaction_payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload = draw(
        _fields(
            direction=_values(Direction),
            amount=amount_texts(sign="positive"),
            currency=currencies,
            channel=_values(Channel),
            category=_values(TransactionCategory),
            counterparty_bank=_optional(identifiers),
            counterparty_is_own_bank=st.one_of(st.just(_ABSENT), st.booleans()),
            balance_after=_optional(amount_texts(sign="any")),
            customer_initiated=_optional(st.booleans()),
            counterparty_kind=_optional(_values(CounterpartyKind)),
            counterparty_id=_optional(identifiers),
            purpose_code=_optional(
                st.sampled_from(["SALA", "PENS", "SANKC. UROK", "x", "A" * 35, "a b"])
            ),
            bank_transaction_code=_optional(st.sampled_from(["PMNT-RCDT-SALA", "ACMT-MDOP-INTR"])),
            standing_order_id=_optional(identifiers),
            income_kind=_optional(_values(IncomeKind)),
        )
    )
    if payload.get("income_kind") is not None:
        payload["direction"] = "credit"  # the contract's rule; mutations break it on purpose
    return payload


account_balances = _fields(
    account_id=identifiers,
    product_kind=_values(ProductKind),
    balance=amount_texts(sign="any"),
    currency=currencies,
    overdraft_limit=_optional(amount_texts(sign="non_negative")),
    credit_limit=_optional(amount_texts(sign="non_negative")),
)

snapshot_payloads = _fields(
    as_of=st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)).map(date.isoformat),
    balances=st.lists(account_balances, min_size=1, max_size=4),
)

# events the fast path does not know: they must pass through to pydantic unchanged
other_payloads: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "contact.logged": _fields(manager_id=identifiers, kind=st.just("call")),
    "product.subscribed": _fields(product=st.just("fund")),
    "account.opened": _fields(product_kind=st.just("demand"), currency=currencies),
}


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["transaction.posted"] * 5 + ["balance.snapshot"] * 3 + list(other_payloads)
        )
    )
    if kind == "transaction.posted":
        payload = draw(transaction_payloads())
    elif kind == "balance.snapshot":
        payload = draw(snapshot_payloads)
    else:
        payload = draw(other_payloads[kind])
    envelope = draw(
        _fields(
            event_id=identifiers,
            schema_version=st.one_of(st.just(_ABSENT), st.just(1)),
            occurred_at=times(),
            producer=_optional(identifiers),
            customer_id=identifiers,
            account_id=_optional(identifiers),
        )
    )
    if kind == "account.opened":
        envelope["account_id"] = "A1"
    return {**envelope, "event_type": kind, "payload": payload}


# --- mutations: each makes a small change a producer could make -------------------------------

_WRONG_VALUES: list[Any] = [
    None,
    True,
    0,
    1,
    -1,
    1.5,
    1e5,
    "",
    " ",
    "x",
    "1e5",
    "1E5",
    "+1",
    "1.",
    ".5",
    "0",
    "-0",
    "-0.00",
    "0.00",
    "-1.00",
    "1.12345",
    "12345678901234567",
    "00001.5",
    "１２",  # noqa: RUF001 - full-width digits: a regex \d would take them
    "true",
    "CNY ",
    "cny",
    "XXX",
    "credit ",
    "Credit",
    "debit",
    "credit",
    "salary",
    "2025-01-01",
    "2025-02-30",
    "2025-01-01T00:00:00",
    "2025-01-01T00:00:00.1234567Z",
    "2025-01-01T00:00:00.999999999+08:00",
    "2025-01-01t00:00:00z",
    "2025-01-01 00:00:00Z",
    "2025-01-01T00:00Z",
    "2025-01-01T00:00:00+0800",
    "2025-01-01T00:00:00-00:00",
    "2025-01-01T23:59:60Z",
    "2025-01-01T00:00:00+24:00",
    "1704067200",
    "a" * 129,
    "a" * 128,
    "-a",
    "a b",
    "a\n",
    "\ta",
    "a\u00a0",
    "é",
    "PMNT-RCDT-SALA\n",
    "pmnt-rcdt-sala",
    "A" * 36,
    " SALA",
    "SALA\u0085",
    [],
    {},
    [1],
]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every (nested) key path of a JSON-like value."""
    out: list[tuple[Any, ...]] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.append((*prefix, key))
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out.append((*prefix, i))
            out.extend(_paths(value, (*prefix, i)))
    return out


def _parent(obj: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        obj = obj[key]
    return obj


def _objects(obj: Any) -> list[tuple[Any, ...]]:
    """Paths of every JSON object inside ``obj`` (``()`` is the event itself)."""
    return [()] + [p for p in _paths(obj) if isinstance(_at(obj, p), dict)]


def _at(obj: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _edits(value: Any) -> list[Any]:
    """Near misses of one value: the same text padded, recased, cut, as a number, ..."""
    if isinstance(value, bool):
        return [not value, "true", "false", 1, 0, None]
    if isinstance(value, str):
        out: list[Any] = [
            value + "\n",
            value + " ",
            " " + value,
            "\t" + value + "\r\n",
            value + "\u00a0",
            "\u3000" + value,
            value.upper(),
            value.title(),
            "-" + value,
            "+" + value,
            value + "0",
            value + "5",
            value[:-1],
            value[1:],
            value * 2,
            value + "Z",
            value.replace("T", " ").replace("Z", "+0000"),
            value.replace(":", ""),
            value.replace("+", "-"),
        ]
        try:
            number = float(value)
        except ValueError:
            return out
        out.extend([number, round(number), "0" + value, value + "e0", value + "00000", "0.00"])
        return out
    return [None, "", value]


def _semantic(event: dict[str, Any], choice: int) -> None:
    """A change that keeps every value well-formed but breaks a rule between them, or nearly."""
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return
    balances = payload.get("balances")
    balance = balances[0] if isinstance(balances, list) and balances else None
    if choice == 0:
        payload["income_kind"] = "salary"  # on a debit too: refused
    elif choice == 1:
        payload["amount"] = "0.0000"
    elif choice == 2 and isinstance(balance, dict):
        balance["overdraft_limit"] = "-0.00"  # a valid non-negative for pydantic
    elif choice == 3 and isinstance(balance, dict):
        balance["credit_limit"] = "-0.01"
    elif choice == 4:
        event["schema_version"] = 1.0
    elif choice == 5:
        payload["direction"] = "debit"


@st.composite
def mutated(draw: st.DrawFn) -> bytes | str:
    """A valid event with a few small changes, as JSON bytes (sometimes text).

    Mostly one change, so it is not hidden behind another refusal: a near miss of one value
    (``_edits``), a wrong value, a dropped, added or repeated key, or a rule between fields.
    """
    event = draw(events())
    duplicates: list[tuple[dict[str, Any], str, Any]] = []
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 1, 1, 2, 2, 3]))):
        op = draw(
            st.sampled_from(
                ["edit", "edit", "edit", "replace", "drop", "add", "duplicate", "rule", "rule"]
            )
        )
        paths = _paths(event)
        if op in ("edit", "replace", "drop") and paths:
            path = draw(st.sampled_from(paths))
            parent = _parent(event, path)
            if op == "edit":
                parent[path[-1]] = draw(st.sampled_from(_edits(parent[path[-1]])))
            elif op == "replace":
                parent[path[-1]] = draw(st.sampled_from(_WRONG_VALUES))
            elif isinstance(parent, dict) or len(parent) > 1:
                del parent[path[-1]]
        elif op == "rule":
            _semantic(event, draw(st.integers(min_value=0, max_value=5)))
        elif op == "add":
            where = draw(st.sampled_from(_objects(event)))
            key = draw(
                st.sampled_from(
                    ["extra", "income_kind", "overdraft_limit", "event_type", "payload", "producer"]
                )
            )
            _at(event, where)[key] = draw(
                st.sampled_from([*_WRONG_VALUES[:12], "salary", "transaction.posted"])
            )
        elif op == "duplicate":
            obj = _at(event, draw(st.sampled_from(_objects(event))))
            if obj:
                key = draw(st.sampled_from(sorted(obj, key=str)))
                value = draw(st.one_of(st.sampled_from(_WRONG_VALUES), st.just(obj[key])))
                duplicates.append((obj, key, value))
    payload = event.get("payload")
    balances = payload.get("balances") if isinstance(payload, dict) else None
    if isinstance(balances, list) and balances and draw(st.integers(0, 9)) == 0:
        # around the 1..500 limit: none, 500 or more (the lists hold 1 to 4 balances)
        payload["balances"] = balances * draw(st.sampled_from([0, 125, 126, 501]))
    raw = json.dumps(event, ensure_ascii=draw(st.booleans()))
    for obj, key, value in duplicates:
        raw = _with_duplicate(raw, obj, key, value, first=draw(st.booleans()))
    frame = draw(st.sampled_from(["", "", "", "", "", " ", "\n", "\ufeff", "x", "]"]))
    raw = raw + frame if frame != "\ufeff" else frame + raw
    return raw if draw(st.integers(min_value=0, max_value=4)) == 0 else raw.encode()


def _with_duplicate(raw: str, obj: dict[str, Any], key: str, value: Any, *, first: bool) -> str:
    """``raw`` with ``key`` repeated in the object ``obj`` (before or after the original)."""
    marker = json.dumps(obj)
    if marker not in raw:  # changed since, or written without ensure_ascii: leave it
        return raw
    extra = f"{json.dumps(key)}: {json.dumps(value)}"
    body = marker[1:-1]
    inner = f"{extra}, {body}" if first else f"{body}, {extra}"
    return raw.replace(marker, "{" + inner + "}", 1)


# --- the tests ----------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_valid_events_decode_to_what_pydantic_makes(event: dict[str, Any]) -> None:
    raw = json.dumps(event).encode()
    outcome = _check(raw)
    if event["event_type"] in ("transaction.posted", "balance.snapshot"):
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
    ("not JSON", b"{"),
    ("empty", b""),
]


@pytest.mark.parametrize(("name", "raw"), _TRAPS, ids=[n for n, _ in _TRAPS])
def test_known_traps_agree_with_pydantic(name: str, raw: bytes) -> None:
    _check(raw)


def test_the_plain_events_take_the_fast_path() -> None:
    for base in (_BASE_TXN, _BASE_SNAPSHOT):
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
        assert EVENT_MODELS[EventType(tag)] is model
        assert struct.event_type == tag  # type: ignore[attr-defined]
