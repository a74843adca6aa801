"""The worker's consumer-group timeouts, as the events consumer is built with them.

The coordinator holds a JoinGroup until every member has rejoined or the rebalance timeout has
passed; a member that joined early waits that long for its answer. aiokafka sends JoinGroup with
the client-wide request timeout (40 s unless set), and does not lengthen it for JoinGroup as the
Java client does: a request timeout at or below the rebalance timeout turns a legitimate wait for
a slow member into a client-side timeout, a dropped coordinator and another rebalance.
"""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer

from churnwatch_state_monitor.worker.clients import events_consumer
from churnwatch_state_monitor.worker.owners import PartitionOwners
from churnwatch_state_monitor.worker.settings import MonitorSettings


def _consumer(settings: MonitorSettings) -> AIOKafkaConsumer:
    """The worker's events consumer as the processor builds it (not started: no broker needed)."""
    owners = PartitionOwners(url="http://w1:8002", topic="ns.events.v1")
    return events_consumer(settings=settings, owners=owners)


@pytest.mark.parametrize("session_timeout_s", [6, 15, 45, 60, 300])
@pytest.mark.parametrize("rebalance_timeout_s", [None, 6, 35, 60, 600])
async def test_join_group_request_outlasts_the_rebalance(
    session_timeout_s: float, rebalance_timeout_s: float | None
) -> None:
    given = {} if rebalance_timeout_s is None else {"rebalance_timeout_s": rebalance_timeout_s}
    consumer = _consumer(MonitorSettings(session_timeout_s=session_timeout_s, **given))
    try:
        request_ms = consumer._client._request_timeout_ms
        rebalance_ms = consumer._rebalance_timeout_ms
        assert request_ms > rebalance_ms, (
            f"request timeout {request_ms} ms <= rebalance timeout {rebalance_ms} ms: a JoinGroup "
            "held for a slow member times out on the client"
        )
    finally:
        await consumer.stop()


async def test_rebalance_timeout_is_the_configured_one() -> None:
    # the setting reaches the consumer, rather than aiokafka's default (the session timeout)
    consumer = _consumer(MonitorSettings(session_timeout_s=15, rebalance_timeout_s=90))
    try:
        assert consumer._rebalance_timeout_ms == 90_000
        assert consumer._client._request_timeout_ms == 95_000
        assert consumer._session_timeout_ms == 15_000
    finally:
        await consumer.stop()
    assert MonitorSettings().group_timeouts_ms()["rebalance_timeout_ms"] == 60_000
