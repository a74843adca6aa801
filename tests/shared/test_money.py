"""Amounts: decimal text in, the same plain text out; numbers, exponents and signs refused by kind."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from churnwatch_shared.money import Amount, NonNegativeAmount, PositiveAmount, amount_text


class Amounts(BaseModel):
    any: Amount | None = None
    zero: NonNegativeAmount | None = None
    positive: PositiveAmount | None = None


def _error(field: str, value: object) -> str:
    with pytest.raises(ValidationError) as info:
        Amounts.model_validate_json(f'{{"{field}": {value}}}')
    [error] = info.value.errors()
    assert error["loc"] == (field,)
    return error["msg"]


@pytest.mark.parametrize(
    ("field", "text"),
    [("any", "-12.5"), ("any", "0"), ("zero", "0.0000"), ("zero", "-0"), ("positive", "0.0001"),
     ("positive", "9999999999999999.9999")],
)  # fmt: skip
def test_decimal_text_is_accepted_and_written_back_unchanged(field: str, text: str) -> None:
    parsed = Amounts.model_validate_json(f'{{"{field}": "{text}"}}')
    assert getattr(parsed, field) == Decimal(text)
    assert parsed.model_dump_json(exclude_none=True) == f'{{"{field}":"{text}"}}'


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("any", "12.5", "not a JSON number"),
        ("any", '"1e5"', "a decimal string with at most 16 integer digits and 4 decimals"),
        ("any", '" 5.00"', "a decimal string"),
        ("any", '"12345678901234567"', "a decimal string"),
        ("any", '"1.23456"', "a decimal string"),
        ("any", "true", "a decimal string"),
        ("any", '"NaN"', "a decimal string"),
        ("zero", '"-0.01"', "must not be negative"),
        ("positive", '"0.00"', "must be greater than 0"),
        ("positive", '"-3"', "must be greater than 0"),
        ("positive", "5", "not a JSON number"),
    ],
)
def test_refusals_say_what_is_accepted(field: str, value: str, message: str) -> None:
    assert message in _error(field, value)


def test_amounts_built_in_python_keep_every_digit_on_the_wire() -> None:
    built = Amounts(any=Decimal("1E+3"), zero=Decimal("0E-7"), positive=Decimal("1.5E-7"))
    assert built.model_dump_json() == '{"any":"1000","zero":"0.0000000","positive":"0.00000015"}'
    with pytest.raises(ValidationError, match="decimal string"):
        Amounts(any=Decimal("NaN"))


def test_amount_text_is_plain_notation_for_any_decimal() -> None:
    rng = random.Random(7)
    values = [
        Decimal(rng.randrange(-(10**20), 10**20)).scaleb(rng.randrange(-12, 8)) for _ in range(3000)
    ]
    values += [Decimal(t) for t in ("0", "-0", "0.0000", "1E+3", "1E-7", "0.000001", "-0E+2")]
    for value in values:
        assert amount_text(value) == format(value, "f"), value
