"""Reasons in plain language, with amounts, baselines and dates, from what the monitor sends.

The monitor's churn-risk reasons are codes with points ("tier_lost contributes 80"); its anomaly
reasons carry an observed value, a baseline and a window. Each code gets a sentence a relationship
manager can read aloud; numbers are formatted with thousands separators and, for money, the
reporting currency; shares are percentages. A code we have no sentence for keeps the monitor's
own text, so nothing the monitor says is lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# Codes whose observed/baseline values are shares of a balance or of a usual level.
SHARE_CODES = frozenset({"interbank_outflow_share", "net_outflow", "activity_drop"})
MONEY_CODES = frozenset({"assets_below_baseline", "large_outflow", "payment_bounced"})

SENTENCES = {
    "tier_lost": "Financial assets fell below the threshold of the customer's tier",
    "tier_critical_band": "Financial assets are less than 1,000,000 above the tier threshold",
    "assets_below_baseline": "Financial assets are well below the customer's usual level",
    "dormant": "The customer has not started any activity for a long time",
    "activity_drop": "The customer transacts much less than usual",
    "sustained_decline": "Activity has declined week after week without recovering",
    "loan_overdue": "A loan repayment is overdue",
    "loan_classification": "A loan was downgraded in the five-category classification",
    "payment_bounced": "A payment bounced",
    "interbank_outflow_share": "Money moved to another bank, a large share of the balance",
    "net_outflow": "More money left the accounts than came in",
    "payroll_missing": "The salary credit has not arrived when it usually does",
    "product_cancelled": "The customer cancelled a product",
    "single_product": "The customer holds only one product with the bank",
    "complaint_filed": "The customer filed a complaint",
}

WINDOWS = {"7d": "the last 7 days", "30d": "the last 30 days", "90d": "the last 90 days"}


def amount(value: float, *, currency: str) -> str:
    """Money with thousands separators and the currency, e.g. ``12,300 CNY``."""
    digits = 0 if abs(value) >= 100 else 2
    return f"{value:,.{digits}f} {currency}"


def _number(code: str, value: float | str, *, currency: str) -> str:
    if isinstance(value, str):
        return value.replace("_", " ")
    if code in SHARE_CODES and abs(value) <= 5:
        return f"{value:.0%}"
    if code in MONEY_CODES or abs(value) >= 1000:
        return amount(value, currency=currency)
    return f"{value:,.1f}".removesuffix(".0")


def _day(moment: str | datetime | None) -> str | None:
    if moment is None:
        return None
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return f"{when.day} {when:%b %Y}"


def reason_text(
    reason: dict[str, Any], *, currency: str, occurred_at: str | datetime | None = None
) -> str:
    """One reason as a sentence with its numbers; never a bare dash for a missing value."""
    code = str(reason.get("code", ""))
    sentence = SENTENCES.get(code) or str(reason.get("text") or code.replace("_", " "))
    observed, baseline = reason.get("observed"), reason.get("baseline")
    detail = ""
    if observed is not None and baseline is not None:
        detail = (
            f"{_number(code, observed, currency=currency)} against a usual "
            f"{_number(code, baseline, currency=currency)}"
        )
    elif observed is not None:
        detail = f"now {_number(code, observed, currency=currency)}"
    window = reason.get("window")
    when = None
    if window in WINDOWS:
        when = f"over {WINDOWS[window]}"
    elif window == "event" and (day := _day(occurred_at)):
        when = f"on {day}"
    if when:
        detail = f"{detail} {when}" if detail else when
    text = f"{sentence}: {detail}" if detail else sentence
    weight = reason.get("weight")
    if weight is not None:
        text += f" (adds {float(weight):.0f} of 100 risk points)"
    return text + ("" if text.endswith(".") else ".")


EVENT_NOUNS = {
    "transaction.posted": "Transaction",
    "balance.snapshot": "Balance",
    "account.opened": "Account opened",
    "account.closed": "Account closed",
    "product.subscribed": "Product subscribed",
    "product.cancelled": "Product cancelled",
    "loan.overdue": "Loan overdue",
    "loan.classified": "Loan classified",
    "loan.repaid": "Loan repaid",
    "payment.bounced": "Payment bounced",
    "complaint.filed": "Complaint filed",
    "standing_order.cancelled": "Standing order cancelled",
}

COUNTERPARTIES = {
    "own_account": "the customer's own account",
    "person": "a private person",
    "employer": "the employer",
    "investment_platform": "an investment platform",
}


def _evidence_line(item: dict[str, Any], *, currency: str) -> str:
    kind = str(item.get("event_type") or "event")
    text = EVENT_NOUNS.get(kind) or kind.replace(".", " ").replace("_", " ").capitalize()
    day = _day(item.get("occurred_at"))
    if day:
        text += f" on {day}"
    if item.get("amount") is not None:
        text += f": {amount(float(item['amount']), currency=item.get('currency') or currency)}"
    party = item.get("counterparty_kind")
    if party:
        text += f", counterparty {COUNTERPARTIES.get(party, str(party).replace('_', ' '))}"
    return text + "."


def evidence_lines(payload: dict[str, Any], *, currency: str) -> list[str]:
    """The events behind an alert: type, date, amount and counterparty when the monitor sent
    them (the optional ``evidence`` of the contract), else how many and when."""
    details = payload.get("evidence") or []
    if details:
        return [_evidence_line(item, currency=currency) for item in details]
    summary = evidence_text(payload)
    return [summary] if summary else []


def evidence_text(payload: dict[str, Any]) -> str | None:
    """What triggered the alert, by date and count, when only event ids are known."""
    ids = payload.get("evidence_event_ids") or []
    day = _day(payload.get("occurred_at"))
    if not ids:
        return f"Detected from activity up to {day}." if day else None
    noun = "event" if len(ids) == 1 else "events"
    return f"Triggered by {len(ids)} {noun} of the customer, the latest on {day}."
