"""The pipeline benchmark's knee report (bench/pipeline_bench.py ``_knee``)."""

from __future__ import annotations

from bench.pipeline_bench import _knee


def _step(rate: int, *, held: bool, p50: float, stopped_by: str | None = None) -> dict:
    return {
        "rate_per_s": rate,
        "held": held,
        "stopped_by": stopped_by,
        "e2e_stored_p50_ms": p50,
        "e2e_stored_p99_ms": 2 * p50,
        "e2e_notified_p50_ms": p50 + 1,
        "e2e_notified_p99_ms": 2 * p50 + 1,
        "probes": 10,
        "probes_stored": 10,
        "probes_notified": 10,
    }


def test_the_knee_is_the_highest_held_rate_with_its_latency_and_what_stopped_the_next() -> None:
    steps = [
        _step(20_000, held=True, p50=4.0),
        _step(32_000, held=False, p50=900.0, stopped_by="state monitor lag grew"),
        _step(24_000, held=True, p50=6.0),
        _step(28_000, held=False, p50=400.0, stopped_by="state monitor lag grew"),
    ]
    report = _knee(steps, held_rates=[20_000, 24_000], failed=28_000)
    assert report["knee_rate_per_s"] == report["highest_sustained_rate_per_s"] == 24_000
    assert report["knee_found"] and report["first_failed_rate_per_s"] == 28_000
    assert report["stopped_by"] == "state monitor lag grew"
    assert report["latency_at_knee"]["e2e_stored_p50_ms"] == 6.0
    assert report["latency_at_20000"]["e2e_stored_p99_ms"] == 8.0
    assert [s["rate_per_s"] for s in report["steps"]] == [20_000, 24_000, 28_000, 32_000]


def test_no_failed_step_means_the_knee_lies_above_the_last_rate_tried() -> None:
    report = _knee([_step(2_000, held=True, p50=3.0)], held_rates=[2_000], failed=None)
    assert not report["knee_found"] and report["stopped_by"] is None
    assert report["knee_rate_per_s"] == 2_000
    assert report["latency_at_20000"] is None  # not reached
