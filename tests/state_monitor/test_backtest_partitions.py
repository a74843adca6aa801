"""The backtest shards silence watermarks like the worker: by the configured partition count.

A silent customer's dormancy is judged against its partition's event-time watermark. With 16
partitions (CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS=16) a busy customer who shared the silent one's
partition under 8 partitions sits on another partition, so its events must not make the silent
customer dormant; the backtest used a fixed 8 and did (issue 18: nothing hard-codes 8).
"""

from __future__ import annotations

import pytest

from churnwatch_shared.partitioning import partition_of
from churnwatch_state_monitor.engine import stability
from tests.state_monitor.events import at, txn
from tests.state_monitor.test_silence import backtest, busy


def _apart_under_16() -> tuple[str, str]:
    """Two customers on one partition of 8 and on different partitions of 16."""
    silent = "silent-0"
    i = 0
    while True:
        other = f"busy-{i}"
        same8 = partition_of(customer_id=other, partitions=8) == partition_of(
            customer_id=silent, partitions=8
        )
        apart16 = partition_of(customer_id=other, partitions=16) != partition_of(
            customer_id=silent, partitions=16
        )
        if same8 and apart16:
            return silent, other
        i += 1


def test_dormancy_watermark_follows_the_configured_partition_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    silent, other = _apart_under_16()
    events = [txn("s0", silent, at(0)), *busy(other, range(90))]
    eight = [a for a in backtest(events) if a.customer_id == silent]
    assert [a.rule_id for a in eight] == [stability.DORMANCY]  # shared watermark under 8
    monkeypatch.setenv("CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS", "16")
    sixteen = [a for a in backtest(events) if a.customer_id == silent]
    assert sixteen == []  # its own partition saw no later event: no dormancy yet
