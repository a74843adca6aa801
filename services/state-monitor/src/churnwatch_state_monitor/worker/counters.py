"""The worker's per-batch metric increments (one per counter and batch, not per event)."""

from __future__ import annotations

from typing import Any

from churnwatch_state_monitor.engine.batch import BatchEffects
from churnwatch_state_monitor.worker.metrics import MonitorMetrics


class BatchCounters:
    """Adds a batch's (or a silence tick's) outcome to the worker's Prometheus counters."""

    def __init__(self, *, metrics: MonitorMetrics) -> None:
        self.metrics = metrics
        self._alerts: dict[tuple[str, str], Any] = {}  # label children, bound once

    def record(self, fx: BatchEffects) -> None:
        """One increment per counter and batch (a Prometheus increment takes a lock)."""
        m = self.metrics
        for counter, value in (
            (m.applied, fx.applied),
            (m.duplicate, fx.duplicate),
            (m.redelivered, fx.redelivered),
            (m.late, fx.late_events),
            (m.invalid, fx.invalid),
            (m.snapshots, fx.snapshot_count),
        ):
            if value:
                counter.inc(value)

    def alert(self, alert: Any) -> None:
        """One alert fired, by rule and severity."""
        counter = self._alerts.get((alert.rule_id, alert.severity))
        if counter is None:
            counter = self.metrics.alerts.labels(
                rule_id=alert.rule_id, severity=alert.severity.value
            )
            self._alerts[(alert.rule_id, alert.severity)] = counter
        counter.inc()
