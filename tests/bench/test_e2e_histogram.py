"""The pipeline benchmark reads the alerts service's e2e histogram as histogram_quantile does."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench import e2e_histogram


def _exposition(values: list[float]) -> str:
    registry = CollectorRegistry()
    hist = Histogram(
        "churnwatch_alerts_e2e_latency_seconds", "e2e", buckets=(0.1, 0.5, 1, 5), registry=registry
    )
    for v in values:
        hist.observe(v)
    return generate_latest(registry).decode()


def test_quantiles_of_the_difference_between_two_scrapes() -> None:
    before = e2e_histogram.parse(_exposition([4.0] * 10))  # earlier, slow: must not count
    after = e2e_histogram.parse(_exposition([4.0] * 10 + [0.2] * 50 + [0.7] * 50))
    out = e2e_histogram.figures(before, after)
    assert out["e2e_metric_alerts"] == 100
    # 50 in (0.1, 0.5], 50 in (0.5, 1]: the median is the top of the first, p99 near 1 s
    assert out["e2e_metric_p50_ms"] == 500
    assert out["e2e_metric_p99_ms"] == pytest.approx(990, abs=1)


def test_no_observations_give_no_figure() -> None:
    same = e2e_histogram.parse(_exposition([0.3]))
    assert e2e_histogram.figures(same, same) == {
        "e2e_metric_alerts": 0,
        "e2e_metric_p50_ms": None,
        "e2e_metric_p99_ms": None,
    }
    assert e2e_histogram.parse("") == {}
