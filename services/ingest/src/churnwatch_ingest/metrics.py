"""Prometheus metrics of one ingest app (own registry: several apps can share a test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from churnwatch_shared.observability import HttpMetrics, add_process_metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class IngestMetrics:
    """Counters by event type and reason, produce latency and requests in flight."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http = HttpMetrics(registry=self.registry)
        add_process_metrics(registry=self.registry)
        self.accepted = Counter(
            "churnwatch_ingest_events_accepted",
            "Events acknowledged by the broker and answered as accepted",
            ["event_type", "source"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "churnwatch_ingest_events_rejected",
            "Events refused, by event type (unknown when unreadable) and reason",
            ["event_type", "reason", "source"],
            registry=self.registry,
        )
        self.duplicate = Counter(
            "churnwatch_ingest_events_duplicate",
            "Events answered as duplicates of a recently accepted (producer, event_id)",
            ["event_type"],
            registry=self.registry,
        )
        self.unavailable = Counter(
            "churnwatch_ingest_events_unavailable",
            "Events not acknowledged because the broker was unreachable or slow (503)",
            ["event_type"],
            registry=self.registry,
        )
        self.produce_latency = Histogram(
            "churnwatch_ingest_produce_latency_seconds",
            "Time from handing a record (or a batch) to the producer until the broker's ack",
            ["kind"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "churnwatch_ingest_requests_in_flight",
            "Event requests currently being handled",
            registry=self.registry,
        )
        self.producer_recreated = Counter(
            "churnwatch_ingest_producer_recreated",
            "Producers replaced after a failed send (a gap in a partition's sequence numbers)",
            ["cause"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "churnwatch_ingest_raw_dead_lettered",
            "Raw-topic records sent to the dead-letter topic, by reason",
            ["reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)
