"""Which playbook actions a customer is eligible for: pure functions of the customer's context."""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from churnwatch_alerts.cases.wording import SENTENCES, exact_amount
from churnwatch_alerts.playbook.config import Action, ActionKind, MetricTest, Playbook, When
from churnwatch_shared.customer_state import StateLevel

_LEVEL_RANK = {level: i for i, level in enumerate(StateLevel)}
# A churn-risk alert's severity read as a churn level (info carries no level).
_SEVERITY_LEVEL = {"watch": "watch", "warning": "warning", "critical": "critical"}
_OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}
# How a condition reads to a manager: the comparison, and each metric's name and unit.
_COMPARED = {
    ">": "more than {0}",
    ">=": "{0} or more",
    "<": "less than {0}",
    "<=": "{0} or less",
    "==": "exactly {0}",
}
_MONEY, _COUNT = "money", "count"
_METRICS: dict[str, tuple[str, str]] = {
    "scale.deposits_demand": ("Demand deposits", _MONEY),
    "scale.deposits_time": ("Time deposits", _MONEY),
    "scale.loans": ("Loans", _MONEY),
    "scale.investments": ("Investments", _MONEY),
    "scale.financial_assets": ("Financial assets", _MONEY),
    "scale.adb_30d": ("Average daily balance over 30 days", _MONEY),
    "scale.adb_90d": ("Average daily balance over 90 days", _MONEY),
    "account_flow.inflow_30d": ("Paid in over the last 30 days", _MONEY),
    "account_flow.outflow_30d": ("Paid out in the last 30 days", _MONEY),
    "account_flow.interbank_outflow_30d": ("Moved to other banks in the last 30 days", _MONEY),
    "stability.open_complaints": ("Open complaints", _COUNT),
    "stability.complaints_90d": ("Complaints in the last 90 days", _COUNT),
    "stability.days_since_activity": ("Days since the customer's own last activity", _COUNT),
    "risk.days_past_due": ("Days a loan is past due", _COUNT),
    "product_usage.active_products": ("Products held", _COUNT),
    "product_usage.cancellations_90d": ("Products cancelled in the last 90 days", _COUNT),
}
_STRATEGY_VERBS = {
    "deepen": "deepening",
    "maintain": "maintaining",
    "reduce": "reducing",
    "exit": "exiting",
}


@dataclass(frozen=True, slots=True)
class OpenAlert:
    rule_id: str
    kind: str
    severity: str
    title: str
    reason_codes: tuple[str, ...]
    reason_texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CustomerContext:
    """What the playbook reads about one customer."""

    snapshot: dict[str, Any] | None
    open_alerts: tuple[OpenAlert, ...] = ()
    strategy: str | None = None
    lifecycle: str | None = None
    tier: str | None = None
    objects_to_marketing: bool = False
    # the currency of the snapshot's amounts when the snapshot does not name it
    currency: str = "CNY"


@dataclass(frozen=True, slots=True)
class Suggestion:
    code: str
    action: Action
    because: list[str] = field(default_factory=list)


def in_control_group(*, customer_id: str, share: float, salt: str) -> bool:
    """Whether the customer is in the control group: a stable hash of salt and id below ``share``."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{salt}\x1f{customer_id}".encode()).digest()
    # 64 bits of the hash as a fraction in [0, 1): uniform, and the same on every replica
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _metric(snapshot: dict[str, Any] | None, name: str) -> Decimal | None:
    state, _, key = name.partition(".")
    value = ((((snapshot or {}).get("states") or {}).get(state) or {}).get("metrics") or {}).get(
        key
    )
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _words(code: str) -> str:
    return code.replace("_", " ").replace(".", " ")


def _metric_name(metric: str) -> str:
    known = _METRICS.get(metric)
    if known is not None:
        return known[0]
    return _words(metric.partition(".")[2] or metric).capitalize()


def _currency(snapshot: dict[str, Any] | None, metric: str, fallback: str) -> str:
    """The currency of a metric's amounts: the snapshot's state says it (the reporting one)."""
    state = metric.partition(".")[0]
    metrics = (((snapshot or {}).get("states") or {}).get(state) or {}).get("metrics") or {}
    return str(metrics.get("currency") or fallback)


def _shown(metric: str, value: Decimal, currency: str) -> str:
    if _METRICS.get(metric, ("", ""))[1] == _MONEY:
        return exact_amount(float(value), currency=currency)
    return f"{value.normalize():,f}"


def _metric_holds(test: MetricTest, context: CustomerContext) -> str | None:
    """The condition as a manager reads it when it holds ("Demand deposits: 812,000 CNY
    (200,000 CNY or more)"), or None."""
    snapshot = context.snapshot
    currency = _currency(snapshot, test.metric, context.currency)
    left = _metric(snapshot, test.metric)
    if test.of is not None and test.share is not None:
        other = _metric(snapshot, test.of)
        right = other * test.share if other is not None else None
        name = _metric_name(test.of)
        threshold = f"{float(test.share) * 100:g}% of {name[:1].lower()}{name[1:]}"
        if right is not None:
            threshold += f", {_shown(test.of, right, currency)}"
    else:
        right = test.value
        threshold = _shown(test.metric, right, currency) if right is not None else ""
    if left is None or right is None or not _OPS[test.op](left, right):
        return None
    shown = f"{_metric_name(test.metric)}: {_shown(test.metric, left, currency)}"
    if test.op == ">" and test.value == 0:  # "more than 0" says nothing the amount does not
        return shown
    return f"{shown} ({_COMPARED[test.op].format(threshold)})"


def _churn_level(context: CustomerContext) -> str | None:
    levels = [a.severity for a in context.open_alerts if a.kind == "churn_risk"]
    levels = [_SEVERITY_LEVEL[s] for s in levels if s in _SEVERITY_LEVEL]
    if context.snapshot is not None and context.snapshot.get("churn_level") in _LEVEL_RANK:
        levels.append(context.snapshot["churn_level"])
    return max(levels, key=lambda lvl: _LEVEL_RANK[StateLevel(lvl)], default=None)


def _holds(when: When, context: CustomerContext) -> list[str] | None:
    """The reasons the conditions hold, as a manager reads them, or None when one does not."""
    because: list[str] = []
    if when.churn_level_at_least is not None:
        level = _churn_level(context)
        if level is None or _LEVEL_RANK[StateLevel(level)] < _LEVEL_RANK[when.churn_level_at_least]:
            return None
        because.append(f"Churn risk is at {level} level")
    alerts = list(context.open_alerts)
    if when.alert_rules_any:
        alerts = [a for a in alerts if a.rule_id in when.alert_rules_any]
        if not alerts:
            return None
        because.append("Open alert: " + "; ".join(sorted({a.title for a in alerts})))
    if when.reason_codes_any:
        codes = sorted({c for a in alerts for c in a.reason_codes if c in when.reason_codes_any})
        if not codes:
            return None
        because.extend(SENTENCES.get(c) or _words(c).capitalize() for c in codes)
    if when.alert_text_any:
        words = [w.lower() for w in when.alert_text_any]
        texts = [t for a in alerts for t in (a.title, *a.reason_texts)]
        matched = [t for t in texts if any(w in t.lower() for w in words)]
        if not matched:
            return None
        said = f"Open alert: {matched[0]}"
        if said not in because:
            because.append(said.replace("_", " "))
    for test in when.metrics:
        held = _metric_holds(test, context)
        if held is None:
            return None
        because.append(held)
    if when.strategy_any:
        if context.strategy not in when.strategy_any:
            return None
        verb = _STRATEGY_VERBS.get(context.strategy or "", context.strategy or "")
        because.append(f"The value review recommends {verb} the relationship")
    if when.lifecycle_any:
        if context.lifecycle not in when.lifecycle_any:
            return None
        because.append(f"Lifecycle stage: {_words(context.lifecycle or '')}")
    if when.tiers_any:
        if context.tier not in when.tiers_any:
            return None
        because.append(f"{_words(context.tier or '').capitalize()} tier customer")
    return because


@dataclass(frozen=True, slots=True)
class Evaluation:
    suggestions: list[Suggestion]
    # actions eligible on their conditions but held back, with why
    withheld: dict[str, str]


def evaluate(*, playbook: Playbook, context: CustomerContext) -> Evaluation:
    """The eligible actions, highest priority first; marketing held back when it must be."""
    eligible: list[Suggestion] = []
    for code, action in playbook.actions.items():
        because = _holds(action.when, context)
        if because is not None:
            eligible.append(Suggestion(code=code, action=action, because=because))
    suppressed = {
        kind: s.code for s in eligible for kind in s.action.suppresses if s.code is not None
    }
    kept: list[Suggestion] = []
    withheld: dict[str, str] = {}
    for suggestion in eligible:
        kind = suggestion.action.kind
        if kind is ActionKind.MARKETING and context.objects_to_marketing:
            withheld[suggestion.code] = "the customer objected to marketing"
        elif kind in suppressed and suppressed[kind] != suggestion.code:
            first = playbook.actions[suppressed[kind]].title
            withheld[suggestion.code] = f"held back until this is done: {first}"
        else:
            kept.append(suggestion)
    kept.sort(key=lambda s: (-s.action.priority, s.code))
    return Evaluation(suggestions=kept, withheld=withheld)
