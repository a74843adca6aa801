"""Money and code types shared by every event: decimal amounts and ISO 4217 currencies, never floats."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, TypeAlias

from pydantic import (
    AfterValidator,
    Field,
    GetCoreSchemaHandler,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import CoreSchema
from pydantic_core import core_schema as cs

# ISO 4217 alphabetic codes a core bank is likely to book in. A producer sending another code gets
# a 422 naming this list, so extending it is a deliberate change, not a silent acceptance.
ISO_4217_CURRENCIES: frozenset[str] = frozenset(
    {
        "AED",
        "AUD",
        "BRL",
        "CAD",
        "CHF",
        "CNY",
        "CZK",
        "DKK",
        "EUR",
        "GBP",
        "HKD",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "JPY",
        "KRW",
        "MOP",
        "MXN",
        "MYR",
        "NOK",
        "NZD",
        "PHP",
        "PLN",
        "RUB",
        "SAR",
        "SEK",
        "SGD",
        "THB",
        "TRY",
        "TWD",
        "USD",
        "VND",
        "ZAR",
    }
)


def _check_currency(code: str) -> str:
    if code not in ISO_4217_CURRENCIES:
        accepted = ", ".join(sorted(ISO_4217_CURRENCIES))
        raise ValueError(f"unknown ISO 4217 currency {code!r}; accepted: {accepted}")
    return code


class _CurrencyTable(dict[str, str]):
    """Each known code to itself; any other code is refused by ``_check_currency``'s message.

    Its ``__getitem__`` is the validator: a known code (every event) is a C-level lookup with no
    Python frame; only an unknown one reaches ``__missing__``.
    """

    def __missing__(self, code: str) -> str:
        return _check_currency(code)


_CURRENCY_TABLE = _CurrencyTable({code: code for code in ISO_4217_CURRENCIES})


_AMOUNT_TEXT = r"-?[0-9]{1,16}(?:\.[0-9]{1,4})?"
_AMOUNT_RE = re.compile(_AMOUNT_TEXT)
_AMOUNT_HELP = 'a decimal string with at most 16 integer digits and 4 decimals, e.g. "1234.50"'


_ZERO = Decimal(0)
_match_amount = _AMOUNT_RE.fullmatch


def _amount_other(value: object) -> Decimal:
    """Every input but matching decimal text (checked first, inline, by the validators below)."""
    if isinstance(value, Decimal) and value.is_finite():
        return value  # built in Python by our own code, not parsed from a producer
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        message = f"amount must be {_AMOUNT_HELP}, not a JSON number"
    else:
        message = f"amount must be {_AMOUNT_HELP}"
    raise ValueError(message)


def _any_amount(value: object) -> Decimal:
    if type(value) is str and _match_amount(value):
        return Decimal(value)
    return _amount_other(value)


def _non_negative_amount(value: object) -> Decimal:
    amount = Decimal(value) if type(value) is str and _match_amount(value) else _amount_other(value)
    if amount < _ZERO:
        raise ValueError("amount must not be negative")
    return amount


def _positive_amount(value: object) -> Decimal:
    amount = Decimal(value) if type(value) is str and _match_amount(value) else _amount_other(value)
    if amount <= _ZERO:
        raise ValueError("amount must be greater than 0")
    return amount


def amount_text(amount: Decimal) -> str:
    """The wire text of an amount: plain notation, every digit kept (``format(amount, "f")``).

    ``str()`` gives the same text, about twice as fast, whenever it does not choose scientific
    notation (exponent above 0 or more than 6 leading zeros); only then is ``format`` needed.
    """
    text = str(amount)
    return text if "E" not in text else format(amount, "f")


# One validator per amount type instead of pydantic's generic decimal machinery: amounts are
# most of a batch's validation cost, and this is about 4x cheaper while saying exactly what is
# accepted (from JSON, the same checks run in pydantic-core: _json_amount). Each minimum ("any", >= 0, > 0) has its own function with the common case (matching
# text) inline, as it runs for every amount of every event. Decimal text only: a JSON number may
# already be float-rounded. The aliases below are spelled out (not built by a helper function) so
# the type checker sees each of them as ``Decimal``.
_AMOUNT_SERIALIZER = PlainSerializer(amount_text, return_type=str, when_used="json")
_AMOUNT_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": f"^{_AMOUNT_TEXT}$", "description": _AMOUNT_HELP}
)


def _value_error(message: str) -> dict[str, Any]:
    """A static refusal, worded exactly as ``ValueError(message)`` raised by a validator is."""
    return {
        "custom_error_type": "value_error",
        "custom_error_context": {"error": ValueError(message)},
    }


# Every JSON value but a number passes the gate unchanged; a number fails it with its own message.
_NOT_A_NUMBER = cs.union_schema(
    [
        cs.str_schema(strict=True, strip_whitespace=False),
        cs.bool_schema(strict=True),
        cs.none_schema(),
        cs.list_schema(),
        cs.dict_schema(),
    ],
    mode="left_to_right",
    **_value_error(f"amount must be {_AMOUNT_HELP}, not a JSON number"),
)


def _json_amount(sign: tuple[str, str] | None) -> CoreSchema:
    """The JSON-mode amount validator, in pydantic-core (no Python call but ``Decimal``).

    Each step refuses with a fixed message, the same as the Python validator's for that input:
    a JSON number, anything else but matching text, then the sign.
    """
    steps: list[CoreSchema] = [
        _NOT_A_NUMBER,
        cs.custom_error_schema(
            cs.str_schema(strict=True, strip_whitespace=False, pattern=f"^{_AMOUNT_TEXT}$"),
            **_value_error(f"amount must be {_AMOUNT_HELP}"),
        ),
    ]
    if sign is not None:
        pattern, message = sign
        steps.append(
            cs.custom_error_schema(
                cs.str_schema(strict=True, strip_whitespace=False, pattern=pattern),
                **_value_error(message),
            )
        )
    steps.append(cs.no_info_plain_validator_function(Decimal))
    return cs.chain_schema(steps)


@dataclass(frozen=True, slots=True)
class _AmountValidator:
    """JSON input (every event off the wire): ``_json_amount``; Python input: ``python``."""

    python: Callable[[object], Decimal]
    sign: tuple[str, str] | None

    def __get_pydantic_core_schema__(
        self, source: object, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return cs.json_or_python_schema(
            json_schema=_json_amount(self.sign),
            python_schema=cs.no_info_plain_validator_function(self.python),
        )


# Amounts are most of a batch's validation cost. Decoded from JSON (the wire, parse_event), the
# checks run in pydantic-core and only ``Decimal`` is called; from Python objects (dicts built by
# adapters, parse_event_obj) the validators above run. Both accept and refuse the same text with
# the same message: tests/shared/test_amount_paths.py compares them. The sign patterns assume
# text that already matched _AMOUNT_TEXT: "-0.00" is zero (not negative, not positive).
_ANY = _AmountValidator(_any_amount, None)
_NON_NEGATIVE = _AmountValidator(
    _non_negative_amount, (r"^(?:[0-9]|-[0.]*$)", "amount must not be negative")
)
_POSITIVE = _AmountValidator(_positive_amount, (r"^[0-9.]*[1-9]", "amount must be greater than 0"))

# Amounts travel as JSON strings ("1234.50") so no producer or consumer ever rounds through a float.
Amount: TypeAlias = Annotated[
    Decimal,
    _ANY,
    _AMOUNT_SERIALIZER,
    _AMOUNT_SCHEMA,
]
NonNegativeAmount: TypeAlias = Annotated[
    Decimal,
    _NON_NEGATIVE,
    _AMOUNT_SERIALIZER,
    _AMOUNT_SCHEMA,
]
PositiveAmount: TypeAlias = Annotated[
    Decimal,
    _POSITIVE,
    _AMOUNT_SERIALIZER,
    _AMOUNT_SCHEMA,
]
Currency: TypeAlias = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_CURRENCY_TABLE.__getitem__),
    Field(description="ISO 4217 alphabetic code, e.g. CNY"),
]
Identifier: TypeAlias = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$"),
]
