"""Prometheus metrics of the alerts service (names prefixed churnwatch_alerts_)."""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from churnwatch_shared.observability import HttpMetrics

RECEIVED = Counter("churnwatch_alerts_received_total", "New alerts stored from the alert topic")
DUPLICATES = Counter(
    "churnwatch_alerts_duplicates_total", "Alerts received again (replays) and ignored"
)
SUPERSEDED = Counter(
    "churnwatch_alerts_superseded_total",
    "Churn-risk alerts that updated the customer's open churn-risk alert in place",
)
ROUTED = Counter("churnwatch_alerts_routed_total", "Alerts routed, by target kind", ["target"])
NOTIFIED = Counter(
    "churnwatch_alerts_notified_total", "Notifications delivered, by channel", ["channel"]
)
NOTIFICATION_FAILURES = Counter(
    "churnwatch_alerts_notification_failures_total",
    "Failed notification attempts, by channel",
    ["channel"],
)
NOTIFICATION_DEAD = Counter(
    "churnwatch_alerts_notifications_dead_total", "Notifications dead-lettered", ["channel"]
)
ESCALATED = Counter("churnwatch_alerts_escalated_total", "Alert escalations past an SLA")
INTAKE_REJECTED = Counter(
    "churnwatch_alerts_intake_rejected_total", "Records that failed validation", ["topic"]
)
INTAKE_DEAD_LETTERED = Counter(
    "churnwatch_alerts_intake_dead_lettered_total",
    "Intake records sent to the dead-letter topic (acknowledged), by source topic and reason",
    ["topic", "reason"],
)
OLDEST_UNACKED_CRITICAL = Gauge(
    "churnwatch_alerts_oldest_unacked_critical_age_seconds",
    "Age of the oldest open critical alert (0 when none)",
)
INTAKE_LAG = Gauge(
    "churnwatch_alerts_intake_lag",
    "Records not yet stored per assigned intake partition (end offset minus position)",
    ["topic", "partition"],
)
OUTBOX_BACKLOG = Gauge(
    "churnwatch_alerts_outbox_backlog",
    "Notifications due and not yet sent, by channel (counted every few seconds, not per scrape)",
    ["channel"],
)
# HTTP RED metrics by route template (the default registry also has process_*).
HTTP = HttpMetrics(registry=REGISTRY)
# Ingest acknowledgement of the firing event -> alert stored (committed with its outbox rows, the
# dispatcher woken): from the ingested_at header the monitor copies onto each alert record.
E2E_LATENCY = Histogram(
    "churnwatch_alerts_e2e_latency_seconds",
    "Time from ingest handing the firing event to Kafka to the new alert stored with its "
    "notifications queued (only alerts whose record carries ingested_at)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900),
)
