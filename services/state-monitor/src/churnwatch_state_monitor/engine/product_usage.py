"""Product-usage rules: cancelled products.

The config model that validates the thresholds and builds this record is in
``churnwatch_state_monitor.engine_config.product_usage``.
"""

from __future__ import annotations

from typing import Final

from churnwatch_shared.alerts import CustomerStateName, Severity
from churnwatch_shared.events import EventType
from churnwatch_state_monitor.engine.rules import Context, Finding, Rule
from churnwatch_state_monitor.engine.state import CustomerState

PRODUCT_CANCELLED: Final = "product_usage.product_cancelled"

_STATE: Final = CustomerStateName.PRODUCT_USAGE


class ProductCancelled(Rule):
    """A cancelled product; repeated cancellations within 90 days are critical."""

    def __init__(self, *, enabled: bool, severity: Severity, critical_count_90d: int) -> None:
        super().__init__(
            rule_id=PRODUCT_CANCELLED,
            code="prd",
            state=_STATE,
            on=(EventType.PRODUCT_CANCELLED.value,),
            enabled=enabled,
            severity=severity,
        )
        self.critical_count_90d = critical_count_90d

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        if not self.enabled:
            return None
        count = st.recent(st.cancels)
        severity = Severity.CRITICAL if count >= self.critical_count_90d else self.severity
        return Finding(
            rule_id=PRODUCT_CANCELLED,
            state=_STATE,
            severity=severity,
            title=f"Product cancelled: {cx.ev.payload.product}",
            condition_key=cx.event_id,
            code="product_cancelled",
            text=f"{count} product cancellation(s) in 90 days",
            observed=count,
            baseline=self.critical_count_90d,
            window="90d",
            evidence=[cx.event_id],
        )
