"""Hypothesis strategies for wire_decode's differential tests: valid events, and near misses.

``events()`` draws valid events of the two fast-path types and of a few others (which must pass
through to pydantic); ``mutated()`` draws such an event with a few small changes a producer could
make (a value padded, recased, cut or turned into a number; a wrong value; a key dropped, added
or repeated; a rule between fields broken; text around the JSON), as bytes or text.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from hypothesis import strategies as st

from churnwatch_shared.codes import CounterpartyKind, IncomeKind
from churnwatch_shared.event_vocab import (
    Channel,
    Direction,
    Product,
    ProductKind,
    TransactionCategory,
)
from churnwatch_shared.money import ISO_4217_CURRENCIES

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


@st.composite
def subscription_payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload = draw(
        _fields(
            product=_values(Product),
            variant=_optional(
                st.sampled_from(["gold", "classic card", "x", "V" * 64, "Gold Plus"])
            ),
            credit_limit=_optional(amount_texts(sign="non_negative")),
            currency=_optional(currencies),
        )
    )
    if payload.get("credit_limit") is not None:
        payload["currency"] = draw(currencies)  # the contract's rule; mutations break it
    return payload


# the event types the fast path decodes itself (each drawn in proportion to its weight)
FAST_KINDS: dict[str, int] = {
    "transaction.posted": 5,
    "balance.snapshot": 3,
    "product.subscribed": 2,
}

# events the fast path does not know: they must pass through to pydantic unchanged
other_payloads: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "contact.logged": _fields(manager_id=identifiers, kind=st.just("call")),
    "customer.assigned": _fields(branch_id=identifiers),
    "account.opened": _fields(product_kind=st.just("demand"), currency=currencies),
}


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [k for k, weight in FAST_KINDS.items() for _ in range(weight)] + list(other_payloads)
        )
    )
    if kind == "transaction.posted":
        payload = draw(transaction_payloads())
    elif kind == "balance.snapshot":
        payload = draw(snapshot_payloads)
    elif kind == "product.subscribed":
        payload = draw(subscription_payloads())
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
    elif choice == 6 and "product" in payload:
        payload["credit_limit"] = "100"  # needs a currency
        payload.pop("currency", None)


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
            _semantic(event, draw(st.integers(min_value=0, max_value=6)))
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
    if (
        isinstance(payload, dict)
        and isinstance(balances, list)
        and balances
        and draw(st.integers(0, 9)) == 0
    ):
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
