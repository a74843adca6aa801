"""Prometheus metrics of the worker, in a registry of its own (one per app instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from churnwatch_shared.observability import HttpMetrics, add_process_metrics


class MonitorMetrics:
    """Counters the agent bumps per event; label children are bound once, not per event."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http = HttpMetrics(registry=self.registry)
        add_process_metrics(registry=self.registry)
        events = Counter(
            "churnwatch_monitor_events_total",
            "Events seen by the state monitor, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.applied = events.labels(outcome="applied")
        self.duplicate = events.labels(outcome="duplicate")
        self.late = events.labels(outcome="late")
        self.redelivered = events.labels(outcome="redelivered")
        self.invalid = events.labels(outcome="invalid")
        self.alerts = Counter(
            "churnwatch_monitor_alerts_total",
            "Alerts emitted, by rule and severity",
            ["rule_id", "severity"],
            registry=self.registry,
        )
        self.snapshots = Counter(
            "churnwatch_monitor_snapshots_total",
            "Customer-state snapshots published",
            registry=self.registry,
        )
        self.stalled = Gauge(
            "churnwatch_monitor_stalled_partitions",
            "Assigned source partitions with unread records and no progress (stall watchdog)",
            registry=self.registry,
        )
        self.lag = Gauge(
            "churnwatch_monitor_consumer_lag",
            "End offset minus committed offset per assigned source partition (from the watchdog)",
            ["partition"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "churnwatch_monitor_batch_seconds",
            "Time from a batch's records in hand to its offsets committed (apply + deliver)",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.batch_events = Histogram(
            "churnwatch_monitor_batch_events",
            "EVENTS records per batch",
            buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000, 50000),
            registry=self.registry,
        )
        self.fenced = Counter(
            "churnwatch_monitor_fenced_total",
            "Partitions whose transaction the broker refused because another worker's writer "
            "took the partition over (this worker had been paused past its session timeout)",
            registry=self.registry,
        )
        self.restore_seconds = Histogram(
            "churnwatch_monitor_restore_seconds",
            "Time to bring newly assigned partitions' stores up to the changelog's end",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
