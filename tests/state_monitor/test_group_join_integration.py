"""The workers' consumer group joins in one round, on the real broker (issue 18, scale-out).

aiokafka 0.14 sends one JoinGroup per configured assignor, the first offering only the first
protocol (aio-libs/aiokafka#1168): with two assignors every member joins twice with different
protocol lists and the second JoinGroup starts another rebalance of the whole group. With four
workers on a loaded machine the group kept rebalancing ("4 workers never split 16 partitions
within 180 s"). The worker therefore offers exactly one protocol.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.consumer import group_coordinator
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

from churnwatch_state_monitor.worker.owners import PartitionOwners, assignment_strategy

pytestmark = pytest.mark.integration

PARTITIONS = 8


@pytest.fixture
def join_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, tuple[str, ...]]]]:
    """Every JoinGroup request sent: (group instance id, the protocol names it offers)."""
    seen: list[tuple[str, tuple[str, ...]]] = []
    original = group_coordinator.GroupCoordinator._send_req

    async def counting(self: Any, request: Any) -> Any:
        if type(request).__name__.startswith("JoinGroupRequest"):
            seen.append(
                (self._group_instance_id, tuple(name for name, _ in request._group_protocols))
            )
        return await original(self, request)

    monkeypatch.setattr(group_coordinator.GroupCoordinator, "_send_req", counting)
    yield seen


async def _topic(bootstrap: str) -> str:
    name = f"tjoin{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        await admin.close()
    return name


async def _delete(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


def _consumer(
    bootstrap: str, topic: str, group: str, member: int, strategy: Any
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        group_instance_id=f"{group}-{member}",
        partition_assignment_strategy=strategy,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        enable_auto_commit=False,
    )


async def _until_split(consumers: list[AIOKafkaConsumer], timeout: float = 60) -> list[set[int]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for c in consumers:  # getmany drives the coordinator's rejoin
            await c.getmany(timeout_ms=100)
        owned = [{tp.partition for tp in c.assignment()} for c in consumers]
        if all(owned) and sorted(p for o in owned for p in o) == list(range(PARTITIONS)):
            return owned
    raise TimeoutError(f"never split: {[c.assignment() for c in consumers]}")


def test_every_join_offers_the_same_protocols_once(
    kafka_bootstrap: str, join_requests: list[tuple[str, tuple[str, ...]]]
) -> None:
    async def scenario() -> None:
        topic = await _topic(kafka_bootstrap)
        group = f"tjoin-{uuid.uuid4().hex[:8]}"
        consumers = [
            _consumer(
                kafka_bootstrap,
                topic,
                group,
                i,
                assignment_strategy(PartitionOwners(url=f"http://w{i}:8002", topic=topic)),
            )
            for i in range(3)
        ]
        try:
            await asyncio.gather(*(c.start() for c in consumers))
            owned = await _until_split(consumers)
            assert [len(o) for o in owned] in ([3, 3, 2], [3, 2, 3], [2, 3, 3])
        finally:
            await asyncio.gather(*(c.stop() for c in consumers))
            await _delete(kafka_bootstrap, topic)

    asyncio.run(scenario())
    offered = {protocols for _, protocols in join_requests}
    # one protocol list, always complete: no partial JoinGroup that forces another rebalance
    assert len(offered) == 1, offered
    per_member: dict[str, int] = {}
    for member, _ in join_requests:
        per_member[member] = per_member.get(member, 0) + 1
    # a member joins once per rebalance; 3 members joining one after another cause at most 3
    assert max(per_member.values()) <= 3, per_member


def test_a_worker_joins_a_group_of_plain_round_robin_members(kafka_bootstrap: str) -> None:
    """A rolling upgrade from workers without the owner table: one protocol both sides offer."""

    async def scenario() -> None:
        topic = await _topic(kafka_bootstrap)
        group = f"tjoin-{uuid.uuid4().hex[:8]}"
        owners = PartitionOwners(url="http://new:8002", topic=topic)
        consumers = [
            _consumer(kafka_bootstrap, topic, group, 0, (RoundRobinPartitionAssignor,)),
            _consumer(kafka_bootstrap, topic, group, 1, assignment_strategy(owners)),
        ]
        try:
            await asyncio.gather(*(c.start() for c in consumers))
            owned = await _until_split(consumers)
            assert [len(o) for o in owned] == [4, 4]
            if owners.table:  # the new worker led: the table lists both, the old one without URL
                assert set(owners.table) == owned[1]
        finally:
            await asyncio.gather(*(c.stop() for c in consumers))
            await _delete(kafka_bootstrap, topic)

    asyncio.run(scenario())
