"""The alerts service's own end-to-end latency histogram, read over a benchmark step.

``churnwatch_alerts_e2e_latency_seconds`` (ingest handing the firing event to Kafka -> the alert
stored with its notifications queued) is scraped from the alerts service's ``/metrics`` before
and after a step; the difference's quantiles are interpolated within buckets as Prometheus'
``histogram_quantile`` does, so the figure is what the Grafana pipeline panel shows for the step.
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

FAMILY = "churnwatch_alerts_e2e_latency_seconds"

Buckets = dict[float, float]  # upper bound -> cumulative count


async def scrape(*, client: httpx.AsyncClient, base: str) -> Buckets:
    """The histogram's cumulative buckets now (empty when the service has observed nothing)."""
    return parse((await client.get(f"{base}/metrics", timeout=10)).text)


def parse(text: str) -> Buckets:
    """The histogram's cumulative buckets in a Prometheus text exposition."""
    buckets: Buckets = {}
    for family in text_string_to_metric_families(text):
        if family.name != FAMILY:
            continue
        for sample in family.samples:
            if sample.name == f"{FAMILY}_bucket":
                buckets[float(sample.labels["le"])] = sample.value
    return buckets


def quantile(q: float, before: Buckets, after: Buckets) -> float | None:
    """The q-quantile (seconds) of the observations between two scrapes; None when none."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower  # as histogram_quantile: the highest finite bound
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = bound, cumulative
    return lower


def figures(before: Buckets, after: Buckets) -> dict[str, float | None]:
    """Count, p50 and p99 (ms) of the step's observations, as the dashboard computes them."""
    total = after.get(float("inf"), 0.0) - before.get(float("inf"), 0.0)
    p50, p99 = quantile(0.5, before, after), quantile(0.99, before, after)
    return {
        "e2e_metric_alerts": total,
        "e2e_metric_p50_ms": round(p50 * 1000) if p50 is not None else None,
        "e2e_metric_p99_ms": round(p99 * 1000) if p99 is not None else None,
    }
