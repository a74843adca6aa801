"""Email text of notifications: alert ids, severity, rule and state; never amounts or names.

The subject is built only from fields the service controls (severity, state, priority, counts), not
from the free-text alert title, so nothing a rule author writes can leak into mail headers.
"""

from __future__ import annotations

from typing import Any

from churnwatch_alerts.cases.wording import rule_name
from churnwatch_alerts.notifications.outbox import DIGEST_EVENT

EVENT_WORDS = {
    "alert.new": "New",
    "alert.escalated": "Escalated",
    "alert.handed_over": "Handed-over",
}


def _label(value: object) -> str:
    return str(value or "").replace("_", " ")


def subject(payload: dict[str, Any]) -> str:
    """One line: what happened, how urgent, which state (or how many, for a digest)."""
    if payload.get("event") == DIGEST_EVENT:
        count = int(payload.get("count", 0))
        day = str(payload.get("period_start", ""))[:10]
        noun = "alert" if count == 1 else "alerts"
        return f"[ChurnWatch] Digest: {count} low-severity {noun} ({day})"
    word = EVENT_WORDS.get(str(payload.get("event")), "Updated")
    severity = str(payload.get("severity", "")).upper()
    return (
        f"[ChurnWatch] {word} {severity} alert: {_label(payload.get('state'))} "
        f"(priority {payload.get('priority')})"
    )


def _alert_lines(item: dict[str, Any]) -> list[str]:
    severity = str(item.get("severity", "")).upper()
    return [
        f"- {severity} p{item.get('priority')} {item.get('title')}",
        (
            f"  alert {item.get('alert_id')} · customer {item.get('customer_id')}"
            f" · rule {rule_name(str(item.get('rule_id') or ''))}"
        ),
    ]


def body(payload: dict[str, Any], *, inbox_url: str | None) -> str:
    """Plain text: the alert (or the digest's alerts) by id, and where to act on it."""
    lines: list[str]
    if payload.get("event") == DIGEST_EVENT:
        items = list(payload.get("alerts", []))
        lines = [
            f"Low-severity alerts from {payload.get('period_start')} to {payload.get('period_end')}:",
            "",
        ]
        for item in items:
            lines += _alert_lines(item)
        if int(payload.get("count", 0)) > len(items):
            lines.append(f"... and {int(payload['count']) - len(items)} more in the inbox.")
    else:
        word = EVENT_WORDS.get(str(payload.get("event")), "Updated")
        lines = [
            f"{word} alert (escalation level {payload.get('escalation_level', 0)}):",
            "",
            *_alert_lines(payload),
        ]
    if inbox_url:
        lines += ["", f"Open the inbox: {inbox_url}"]
    return "\n".join(lines) + "\n"
