"""HTTP RED metrics by route template, and the process collector for a service's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

# Route label of a request no route matched (404s, scanners): one series, not one per path.
UNMATCHED = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class HttpMetrics:
    """Requests by method, route template and status; duration by method and route template.

    The ``job`` label comes from the scrape configuration, not from here.
    """

    def __init__(self, *, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "churnwatch_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "churnwatch_http_request_duration_seconds",
            "Time from a request's arrival to its last response byte, by method and route template",
            ["method", "route"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        # label children bound once per (method, route, status): .labels() costs ~1 us per call
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            if method not in KNOWN_METHODS:
                method = "other"
            children = self._children[key] = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)


def add_process_metrics(*, registry: CollectorRegistry) -> None:
    """process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, ... (Linux)."""
    ProcessCollector(registry=registry)
