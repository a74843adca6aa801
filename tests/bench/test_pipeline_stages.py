"""The stage breakdown of bench/pipeline_stages.py (``breakdown``)."""

from __future__ import annotations

from bench.pipeline_stages import breakdown


def test_each_stage_is_timed_over_the_probes_seen_at_both_ends() -> None:
    times = {
        f"BP{n}": {
            "ack": 10.0 + n,
            "ingested": 9.99 + n,
            "in_kafka": 10.0 + n,
            "alert_created": 10.1 + n,  # 100 ms in the monitor
            "stored": 10.2 + n,
        }
        for n in range(10)
    }
    del times["BP3"]["in_kafka"]  # the tap missed one: left out of its two stages only
    stages = breakdown(times)
    assert stages["ack->stored"]["n"] == 10
    assert stages["ack->stored"]["p50_ms"] == 200.0
    assert stages["in_kafka->alert_created"]["n"] == 9
    assert stages["in_kafka->alert_created"]["p99_ms"] == 100.0
    assert stages["ingested->in_kafka"]["n"] == 9
    assert "alert_in_kafka->alert_committed" not in stages  # no probe timed there
