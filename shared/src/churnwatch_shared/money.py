"""Money and code types shared by every event: decimal amounts and ISO 4217 currencies, never floats."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, StringConstraints

# ISO 4217 alphabetic codes a core bank is likely to book in. A producer sending another code gets
# a 422 naming this list, so extending it is a deliberate change, not a silent acceptance.
ISO_4217_CURRENCIES: frozenset[str] = frozenset(
    {
        "AED", "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF",
        "IDR", "ILS", "INR", "JPY", "KRW", "MOP", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN",
        "RUB", "SAR", "SEK", "SGD", "THB", "TRY", "TWD", "USD", "VND", "ZAR",
    }
)


def _check_currency(code: str) -> str:
    if code not in ISO_4217_CURRENCIES:
        accepted = ", ".join(sorted(ISO_4217_CURRENCIES))
        raise ValueError(f"unknown ISO 4217 currency {code!r}; accepted: {accepted}")
    return code


def _require_decimal_string(value: object) -> object:
    # JSON numbers may already have been rounded by the producer's float parser; insist on text.
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        raise ValueError('amount must be a decimal string such as "1234.50", not a JSON number')
    return value


def _amount(**constraints: object) -> object:
    # Constraints sit in one Field beside the Decimal so pydantic-core checks them natively (about
    # 2.5x faster than nesting Annotated layers; amounts dominate a batch's validation cost).
    # pydantic refuses NaN and Infinity for Decimal by default.
    return Annotated[
        Decimal,
        BeforeValidator(_require_decimal_string),
        Field(
            max_digits=20,
            decimal_places=4,
            description='decimal string, e.g. "1234.50"',
            **constraints,  # type: ignore[arg-type]
        ),
        PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
    ]


# Amounts travel as JSON strings ("1234.50") so no producer or consumer ever rounds through a float.
Amount = _amount()
NonNegativeAmount = _amount(ge=0)
PositiveAmount = _amount(gt=0)
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_check_currency),
    Field(description="ISO 4217 alphabetic code, e.g. CNY"),
]
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$"),
]
