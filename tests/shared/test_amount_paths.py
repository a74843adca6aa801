"""Amounts decoded from JSON (pydantic-core) and from Python objects (the Python validators).

``parse_event`` validates amounts in pydantic-core; ``parse_event_obj`` and every model built in
Python run the validators in ``money.py``. Both must accept the same text, give the same value
and refuse everything else with the same message at the same place.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from churnwatch_shared.money import Amount, Currency, NonNegativeAmount, PositiveAmount


class _Amounts(BaseModel):
    # the wire contracts' config: str_strip_whitespace must not reach amounts
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    any: Amount | None = None
    non_negative: NonNegativeAmount | None = None
    positive: PositiveAmount | None = None
    currency: Currency | None = None


def _outcome(*, field: str, value: Any, from_json: bool) -> object:
    body = {field: value}
    try:
        if from_json:
            model = _Amounts.model_validate_json(json.dumps(body))
        else:
            model = _Amounts.model_validate(body)
    except ValidationError as exc:
        return [(e["type"], e["loc"], e["msg"]) for e in exc.errors()]
    got = getattr(model, field)
    return (type(got), str(got))


_EDGES: list[Any] = [
    "12.50",
    "-12.50",
    "0",
    "-0",
    "-0.00",
    "0.0001",
    "-0.0001",
    "00.10",
    "1234567890123456.1234",
    "12345678901234567",
    "1.12345",
    " 12.50",
    "12.50 ",
    "+1",
    "1e3",
    ".5",
    "5.",
    "1_000",
    "NaN",
    "Infinity",
    "\u0661\u0662",
    "",
    "-",
    5,
    -3,
    5.5,
    10**30,
    True,
    False,
    None,
    [1],
    {"a": 1},
]
_AMOUNT_TEXT = st.from_regex(r"\A-?[0-9]{1,17}(\.[0-9]{0,5})?\Z")


@pytest.mark.parametrize("field", ["any", "non_negative", "positive"])
@pytest.mark.parametrize("value", _EDGES, ids=repr)
def test_json_and_python_amounts_agree_on_edges(field: str, value: Any) -> None:
    assert _outcome(field=field, value=value, from_json=True) == _outcome(
        field=field, value=value, from_json=False
    )


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(["any", "non_negative", "positive"]), value=_AMOUNT_TEXT)
def test_json_and_python_amounts_agree_on_decimal_text(field: str, value: str) -> None:
    assert _outcome(field=field, value=value, from_json=True) == _outcome(
        field=field, value=value, from_json=False
    )


def test_json_amount_refusals_say_what_is_accepted() -> None:
    help_text = 'a decimal string with at most 16 integer digits and 4 decimals, e.g. "1234.50"'
    assert _outcome(field="positive", value=5, from_json=True) == [
        (
            "value_error",
            ("positive",),
            f"Value error, amount must be {help_text}, not a JSON number",
        )
    ]
    assert _outcome(field="positive", value="-0.00", from_json=True) == [
        ("value_error", ("positive",), "Value error, amount must be greater than 0")
    ]
    assert _outcome(field="non_negative", value="-0.01", from_json=True) == [
        ("value_error", ("non_negative",), "Value error, amount must not be negative")
    ]
    assert _outcome(field="non_negative", value="-0.00", from_json=True) == (Decimal, "-0.00")


@pytest.mark.parametrize("code", ["CNY", "XXX", "cny", " EUR ", "EURO", "", 5, None])
def test_json_and_python_currencies_agree(code: Any) -> None:
    assert _outcome(field="currency", value=code, from_json=True) == _outcome(
        field="currency", value=code, from_json=False
    )
