"""Exchange rates into one reporting currency: configuration, not customer events (issue 15).

Why configuration: the monitor is keyed and partitioned by customer, and its output must be a
function of (state, event) so that the worker, a replay after a crash and the backtest agree. A
rate sent as an event on the customer-keyed topic would reach one partition only; copying it to
every partition would make each customer's result depend on where the rate landed between that
partition's records, which differs between a live run, a rebalance and a replay. A rate table
fixed per deployment (effective-dated, so a replay over years uses each day's rate) is the same
for every worker and every replay. A treasury feed can produce the same ``FxRate`` records into
the configuration file; the record is the contract either way.

Semantics: ``rate`` is the price of one unit of ``base`` in ``quote`` (EUR/CNY 7.85 means
1 EUR = 7.85 CNY), valid from ``as_of`` until the next entry of the same pair.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Annotated, TypeAlias

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator, WithJsonSchema

from churnwatch_shared.money import Currency

_RATE_TEXT = r"[0-9]{1,10}(?:\.[0-9]{1,10})?"
_RATE_RE = re.compile(_RATE_TEXT)
_RATE_HELP = 'a positive decimal string with at most 10 integer digits and 10 decimals, e.g. "7.85"'


def _rate(value: object) -> Decimal:
    if type(value) is str and _RATE_RE.fullmatch(value) and Decimal(value) > 0:
        return Decimal(value)
    if type(value) is Decimal and value.is_finite() and value > 0:  # from Python, never JSON
        return value
    raise ValueError(f"rate must be {_RATE_HELP}")


Rate: TypeAlias = Annotated[
    Decimal,
    PlainValidator(_rate, json_schema_input_type=str),
    PlainSerializer(lambda r: format(r, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": f"^{_RATE_TEXT}$", "description": _RATE_HELP}),
]


class FxRate(BaseModel):
    """One effective-dated rate: 1 ``base`` = ``rate`` ``quote`` from ``as_of`` on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: Currency
    quote: Currency
    rate: Rate
    as_of: date


class FxTable:
    """Rates into one reporting currency, looked up by event date (no rate: ``KeyError``)."""

    def __init__(self, *, reporting: str, rates: Iterable[FxRate]) -> None:
        self.reporting = reporting
        by_currency: dict[str, list[tuple[date, Decimal]]] = {}
        for r in rates:
            if r.quote == reporting and r.base != reporting:
                by_currency.setdefault(r.base, []).append((r.as_of, r.rate))
            elif r.base == reporting and r.quote != reporting:
                by_currency.setdefault(r.quote, []).append((r.as_of, 1 / r.rate))
            else:
                raise ValueError(
                    f"rate {r.base}/{r.quote} does not involve the reporting currency {reporting}"
                )
        self._dates = {c: [d for d, _ in sorted(v)] for c, v in by_currency.items()}
        self._rates = {c: [x for _, x in sorted(v)] for c, v in by_currency.items()}

    def factor(self, *, currency: str, on: date) -> Decimal:
        """Reporting-currency units per unit of ``currency`` on ``on`` (1 for the reporting one)."""
        if currency == self.reporting:
            return Decimal(1)
        dates = self._dates.get(currency)
        i = 0 if dates is None else bisect_right(dates, on)
        if dates is None or i == 0:
            raise KeyError(f"no {currency}/{self.reporting} rate in force on {on.isoformat()}")
        return self._rates[currency][i - 1]

    def currencies(self) -> frozenset[str]:
        """Every currency the table converts (the reporting one included)."""
        return frozenset(self._dates) | {self.reporting}
