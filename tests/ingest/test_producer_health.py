"""The producer's incidents: logged once, summarised at most every 10 s, ended by one line; the
503 and /readyz texts say what is going on and name partitions."""

from __future__ import annotations

from typing import Any

import pytest
import structlog

from churnwatch_ingest import producer_health
from churnwatch_ingest.producer_health import ProducerHealth


class Clock:
    """Stands in for the ``time`` module: monotonic() returns what the test sets."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(producer_health, "time", fake)
    return fake


def events(logged: list[dict[str, Any]]) -> list[str]:
    return [entry["event"] for entry in logged]


def test_failures_are_logged_once_summarised_and_ended(clock: Clock) -> None:
    health = ProducerHealth(timeout=10)
    health.connected = True
    with structlog.testing.capture_logs() as logged:
        assert health.failed(cause="OutOfOrderSequenceNumber", partitions={3})
        for second in range(25):  # 3,979 failures in the issue: one line, not one per failure
            clock.now += 1
            assert not health.failed(cause="OutOfOrderSequenceNumber", partitions={second % 8})
        health.recreated()
    assert events(logged) == [
        "producer_failing",
        "producer_still_failing",
        "producer_still_failing",
        "producer_recovered",
    ]
    assert logged[0]["cause"] == "OutOfOrderSequenceNumber"
    assert logged[0]["partitions"] == "3"
    assert logged[1]["occurrences"] == 10
    assert logged[-1]["failed_sends"] == 26
    assert logged[-1]["partitions"] == "0, 1, 2, 3, 4, 5, 6, 7"
    assert health.readiness() == (True, None)


def test_reasons_name_the_partition_and_the_cause(clock: Clock) -> None:
    health = ProducerHealth(timeout=10)
    assert (
        health.reason(partition=2) == "partition 2 unavailable: not connected to the Kafka broker"
    )
    health.connect_succeeded()
    assert health.reason() == "broker did not acknowledge within 10 s"
    health.failed(cause="OutOfOrderSequenceNumber", partitions={1, 6})
    assert health.reason(partition=6) == (
        "partition 6 unavailable: producer being re-created after OutOfOrderSequenceNumber "
        "(typically after a broker restart)"
    )
    ready, why = health.readiness()
    assert not ready
    assert why == (
        "no partition can be produced to: producer being re-created after "
        "OutOfOrderSequenceNumber on partitions 1, 6"
    )
    health.connect_failed(error="KafkaConnectionError", retry_in=2)
    assert "broker unreachable" in health.reason(partition=1)
    assert health.readiness()[1] is not None and health.readiness()[1].endswith(
        "(broker unreachable)"
    )


def test_timeouts_end_only_after_a_quiet_period(clock: Clock) -> None:
    health = ProducerHealth(timeout=10)
    with structlog.testing.capture_logs() as logged:
        for _ in range(50):  # timeouts and acks interleave under load: no line per flip
            health.unacknowledged(count=1, partitions={4})
            clock.now += 0.1
            health.acknowledged()
        clock.now += producer_health.QUIET_AFTER
        health.acknowledged()
        health.acknowledged()
    assert events(logged) == ["produce_unacknowledged", "produce_acknowledged_again"]
    assert logged[-1]["unacknowledged"] == 50


def test_connection_attempts_are_summarised(clock: Clock) -> None:
    health = ProducerHealth(timeout=10)
    with structlog.testing.capture_logs() as logged:
        for _ in range(30):
            health.connect_failed(error="KafkaConnectionError", retry_in=0.5)
            clock.now += 0.5
        health.connect_succeeded()
    assert events(logged) == ["broker_unreachable", "broker_still_unreachable", "broker_reachable"]
    assert logged[-1]["attempts"] == 30
