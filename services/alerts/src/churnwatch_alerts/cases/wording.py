"""Reasons in plain language, with amounts, baselines and dates, from what the monitor sends.

The monitor's churn-risk reasons are codes with points ("tier_lost contributes 80"); its anomaly
reasons carry an observed value, a baseline and a window. Each code gets a sentence a relationship
manager can read aloud; numbers are formatted with thousands separators and, for money, the
reporting currency; shares are percentages. A code we have no sentence for keeps the monitor's
own text, so nothing the monitor says is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

# What each reason code means, as a manager would say it. Every code the engine emits has an
# entry (tests/alerts/test_reason_wording.py scans the engine for them): the anomaly rules'
# codes, the churn score's reasons and the composite levels.
SENTENCES = {
    # scale
    "tier_lost": "Financial assets fell below the threshold of the customer's tier",
    "tier_critical_band": "Financial assets are just below the threshold of the customer's tier",
    "assets_below_baseline": "Financial assets are well below the customer's usual level",
    # stability
    "dormant": "The customer has not started any activity for a long time",
    "activity_drop": "The customer transacts much less than usual",
    "sustained_decline": "Activity has declined week after week without recovering",
    "complaint_filed": "The customer filed a complaint",
    "activity_below_own_history": "The customer is less active than in their own past months",
    "spending_below_own_history": "The customer moves less money than in their own past months",
    "inactive_months": "Whole months have gone by without the customer's own activity",
    "overdue_activity": "The customer's usual activity is overdue",
    "activity_below_peers": "The customer is less active than similar customers",
    "customer_contacts": "The customer has contacted the bank repeatedly",
    # risk
    "loan_overdue": "A loan repayment is overdue",
    "loan_classification": "A loan was downgraded in the five-category classification",
    "loan_classification_downgrade": "A loan was downgraded in the five-category classification",
    "payment_bounced": "A payment bounced",
    "overdrawn": "The current account is overdrawn",
    "overdraft_penalty_interest": "The customer paid penalty interest on an overdraft",
    "overdrafts_12m": "The account was overdrawn repeatedly in the last 12 months",
    "thin_buffer": "The account's balance keeps falling close to zero before money comes in",
    # account flow
    "interbank_outflow_large": "One transfer to another bank took a large part of the balance",
    "interbank_outflow_share": "Money moved to the customer's accounts at other banks",
    "net_outflow": "More money left the accounts than came in",
    "payroll_missing": "The salary credit has not arrived when it usually does",
    # product usage
    "product_cancelled": "The customer cancelled a product",
    "single_product": "The customer holds only one product with the bank",
    # the composite churn score
    "churn_watch": "Churn risk rose to watch",
    "churn_warning": "Churn risk rose to warning",
    "churn_critical": "Churn risk rose to critical",
}

# code -> (the numbers in a sentence, how the observed value reads, how the baseline reads).
# Kinds: money (reporting currency), share (a percentage), count, days, words (a value such as
# "special_mention"), score (0-100). Codes not here read "X against a usual Y".
DETAILS: dict[str, tuple[str, str, str]] = {
    "tier_critical_band": ("{observed}, below the tier threshold of {baseline}", "money", "money"),
    "tier_lost": ("{observed}, below the tier threshold of {baseline}", "money", "money"),
    "assets_below_baseline": ("{observed} against a usual {baseline}", "money", "money"),
    "dormant": ("none for {observed}; dormant after {baseline}", "days", "days"),
    "activity_drop": ("{observed} last week against a usual {baseline} a week", "txns", "count"),
    "sustained_decline": (
        "{observed} in the last 4 weeks against a usual {baseline}",
        "txns",
        "count",
    ),
    "complaint_filed": ("{observed} severity", "words", "words"),
    "loan_overdue": ("{observed} past due (serious from {baseline})", "days", "days"),
    "loan_classification_downgrade": ("now {observed}, before {baseline}", "words", "words"),
    "interbank_outflow_large": (
        "it moved {observed} of the balance of {baseline}",
        "share",
        "money",
    ),
    "interbank_outflow_share": (
        "{observed} of the balance (alert from {baseline})",
        "share",
        "share",
    ),
    "net_outflow": ("{observed} of the balance (alert from {baseline})", "share", "share"),
    "payroll_missing": (
        "the last one came {observed} ago; usually every {baseline}",
        "days",
        "days",
    ),
    "product_cancelled": ("{observed} (critical from {baseline})", "cancels", "count"),
    "payment_bounced": ("{observed}", "money", "money"),
    "churn_watch": ("score {observed} of 100 (watch from {baseline})", "score", "score"),
    "churn_warning": ("score {observed} of 100 (warning from {baseline})", "score", "score"),
    "churn_critical": ("score {observed} of 100 (critical from {baseline})", "score", "score"),
}

# The rules' names as a manager knows them (the monitor's rule ids are for machines).
RULE_NAMES = {
    "scale.tier_critical_band": "Assets near the tier threshold",
    "stability.dormancy": "Dormant customer",
    "stability.sustained_decline": "Activity fading for weeks",
    "stability.activity_drop": "Quiet week",
    "stability.complaint_filed": "Complaint filed",
    "risk.loan_overdue": "Loan overdue",
    "risk.classification_downgrade": "Loan downgraded",
    "account_flow.large_interbank_outflow": "Large transfer to another bank",
    "account_flow.interbank_outflow_share": "Money moving to other banks",
    "account_flow.payroll_missing": "Salary missing",
    "product_usage.product_cancelled": "Product cancelled",
    "churn.composite_score": "Churn risk score",
}


def rule_name(rule_id: str) -> str:
    """A rule's name for a manager; an unknown rule reads as its words and its state."""
    if rule_id in RULE_NAMES:
        return RULE_NAMES[rule_id]
    state, _, name = rule_id.partition(".")
    words = (name or state).replace("_", " ").capitalize()
    return f"{words} ({state.replace('_', ' ')})" if name else words


WINDOWS = {"7d": "the last 7 days", "30d": "the last 30 days", "90d": "the last 90 days"}
# windows that name the day of the event rather than a period
_ON_THE_DAY = frozenset({"event", "snapshot"})


def worded_codes() -> set[str]:
    """The reason codes with a manager wording."""
    return set(SENTENCES)


def amount(value: float, *, currency: str) -> str:
    """Money with thousands separators and the currency, e.g. ``12,300 CNY``."""
    digits = 0 if abs(value) >= 100 else 2
    return f"{value:,.{digits}f} {currency}"


def exact_amount(value: float, *, currency: str) -> str:
    """Money to the cent unless whole, e.g. ``1,234.50 EUR`` or ``120,000 CNY``."""
    digits = 0 if float(value).is_integer() else 2
    return f"{value:,.{digits}f} {currency}"


def _float(value: float | str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _plural(n: float, one: str, many: str) -> str:
    shown = f"{n:,.1f}".removesuffix(".0")
    return f"{shown} {one if shown == '1' else many}"


def _value(kind: str, value: float | str, *, currency: str) -> str:
    number = _float(value)
    if number is None or kind == "words":
        return str(value).replace("_", " ")
    if kind == "money":
        return amount(number, currency=currency)
    if kind == "share":
        return f"{number:.0%}"
    if kind == "days":
        return _plural(round(number), "day", "days")
    if kind == "txns":
        return _plural(number, "transaction", "transactions")
    if kind == "cancels":
        return _plural(number, "cancellation", "cancellations")
    if kind == "score":
        return f"{number:.0f}"
    return f"{number:,.1f}".removesuffix(".0")


def _day(moment: str | datetime | None, zone: tzinfo | None) -> str | None:
    """The day of ``moment`` in the bank's ``zone`` (None: the moment's own offset)."""
    if moment is None:
        return None
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if zone is not None and when.tzinfo is not None:
        when = when.astimezone(zone)
    return f"{when.day} {when:%b %Y}"


def _payroll_due(
    reason: dict[str, Any], occurred_at: str | datetime | None, zone: tzinfo | None
) -> str | None:
    """When the missing salary was due: the last one (``observed`` days before the alert)
    plus the usual gap (``baseline`` days)."""
    late, gap = _float(reason.get("observed")), _float(reason.get("baseline"))
    if occurred_at is None or late is None or gap is None:
        return None
    when = datetime.fromisoformat(occurred_at) if isinstance(occurred_at, str) else occurred_at
    return _day(when - timedelta(days=late) + timedelta(days=round(gap)), zone)


def _detail(reason: dict[str, Any], *, currency: str) -> str:
    code = str(reason.get("code", ""))
    observed, baseline = reason.get("observed"), reason.get("baseline")
    if observed is None:
        return ""
    template, seen, usual = DETAILS.get(code, ("{observed} against a usual {baseline}", "", ""))
    if baseline is None:
        template = template.split(" (")[0].split(";")[0]
        if "{baseline}" in template:
            template = "now {observed}"
    return template.format(
        observed=_value(seen, observed, currency=currency),
        baseline=_value(usual, baseline, currency=currency) if baseline is not None else "",
    )


def reason_text(
    reason: dict[str, Any],
    *,
    currency: str,
    occurred_at: str | datetime | None = None,
    zone: tzinfo | None = None,
) -> str:
    """One reason as a sentence with its numbers; never a bare dash nor a raw code. Days are
    named in ``zone`` (the bank's; None: the moment's own offset)."""
    code = str(reason.get("code", ""))
    if code.startswith("model."):  # the churn model's reasons come worded with their numbers
        worded = str(reason.get("text") or code)
        return worded[:1].upper() + worded[1:] + ("" if worded.endswith(".") else ".")
    fallback = str(reason.get("text") or code)
    sentence = SENTENCES.get(code) or (fallback[:1].upper() + fallback[1:]).replace("_", " ")
    detail = _detail(reason, currency=currency)
    window = reason.get("window")
    when = None
    if window in WINDOWS:
        when = f"over {WINDOWS[window]}"
    elif window in _ON_THE_DAY and (day := _day(occurred_at, zone)):
        when = f"on {day}"
    elif code == "payroll_missing" and (due := _payroll_due(reason, occurred_at, zone)):
        when = f"(due around {due})"
    if when:
        detail = f"{detail} {when}" if detail else when
    text = f"{sentence}: {detail}" if detail else sentence
    weight = reason.get("weight")
    if weight is not None:
        text = text.removesuffix(".") + f". Adds {float(weight):.0f} of 100 risk points"
    return text + ("" if text.endswith(".") else ".")


EVENT_NOUNS = {
    "transaction.posted": "Transaction",
    # the monitor sends a snapshot's financial assets (deposits plus investments), not one balance
    "balance.snapshot": "Financial assets at the balance snapshot",
    "account.opened": "Account opened",
    "account.closed": "Account closed",
    "product.subscribed": "Product subscribed",
    "product.cancelled": "Product cancelled",
    "loan.disbursed": "Loan paid out",
    "loan.overdue": "Loan overdue",
    "loan.classified": "Loan classified",
    "loan.repaid": "Loan repaid",
    "payment.bounced": "Payment bounced",
    "complaint.filed": "Complaint filed",
    "complaint.resolved": "Complaint resolved",
    "contact.logged": "Contact logged",
    "customer.profile": "Profile updated",
    "customer.assigned": "Relationship team changed",
    "standing_order.created": "Standing order created",
    "standing_order.cancelled": "Standing order cancelled",
}

COUNTERPARTIES = {
    "own_account": "the customer's own account",
    "person": "a private person",
    "biller": "a household biller",
    "merchant": "a merchant",
    "insurer": "an insurer",
    "lender": "a lender",
    "investment_platform": "an investment platform",
    "employer": "the employer",
    "pension_fund": "a pension fund",
    "government": "a government body",
    "unknown": "not known",
}


def _evidence_line(item: dict[str, Any], *, currency: str, zone: tzinfo | None) -> str:
    kind = str(item.get("event_type") or "event")
    text = EVENT_NOUNS.get(kind) or kind.replace(".", " ").replace("_", " ").capitalize()
    day = _day(item.get("occurred_at"), zone)
    if day:
        text += f" on {day}"
    if item.get("amount") is not None:
        money = exact_amount(float(item["amount"]), currency=item.get("currency") or currency)
        text += f": {money}"
    party = item.get("counterparty_kind")
    if party:
        text += f", counterparty {COUNTERPARTIES.get(party, str(party).replace('_', ' '))}"
    return text + "."


def evidence_lines(
    payload: dict[str, Any], *, currency: str, zone: tzinfo | None = None
) -> list[str]:
    """The events behind an alert: type, date, amount and counterparty when the monitor sent
    them (the optional ``evidence`` of the contract), else how many and when."""
    details = payload.get("evidence") or []
    if details:
        return [_evidence_line(item, currency=currency, zone=zone) for item in details]
    summary = evidence_text(payload, zone=zone)
    return [summary] if summary else []


def evidence_text(payload: dict[str, Any], *, zone: tzinfo | None = None) -> str | None:
    """What triggered the alert, by date and count, when only event ids are known."""
    ids = payload.get("evidence_event_ids") or []
    day = _day(payload.get("occurred_at"), zone)
    if not ids:
        return f"Detected from activity up to {day}." if day else None
    noun = "event" if len(ids) == 1 else "events"
    return f"Triggered by {len(ids)} {noun} of the customer, the latest on {day}."
