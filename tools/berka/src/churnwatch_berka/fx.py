"""CZK into the rule set's reporting currency: Berka's amounts are in CZK, the packaged rules in CNY.

Without a rate the engine leaves every CZK amount and balance out of its sums (``nofx``), so no
balance, overdraft or money-leaving rule would see anything. The rates are annual averages of the
official USD rates (USD/CZK 29.15 in 1993 and 28.78 in 1994; USD/CNY 5.76 in 1993 and 8.62 in
1994, after China unified its two rates): good to a few per cent, which no Berka check needs.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from churnwatch_shared.fx import FxRate

REPORTING = "CNY"
CZK_RATES = (
    FxRate(base="CZK", quote="CNY", rate=Decimal("0.1976"), as_of=date(1993, 1, 1)),
    FxRate(base="CZK", quote="CNY", rate=Decimal("0.2995"), as_of=date(1994, 1, 1)),
)


def rules_with_rates(*, rules_text: str) -> str:
    """A rules file's text with an ``fx`` section that converts CZK (it must not have one)."""
    if any(line.startswith("fx:") for line in rules_text.splitlines()):
        raise ValueError(
            "the rules file already has an fx section; add the CZK rates to it "
            "(churnwatch_berka.fx.CZK_RATES) instead"
        )
    rates = "".join(
        f'    - {{base: {r.base}, quote: {r.quote}, rate: "{r.rate}", as_of: {r.as_of}}}\n'
        for r in CZK_RATES
    )
    return f"{rules_text.rstrip()}\n\nfx:\n  reporting: {REPORTING}\n  rates:\n{rates}"
