"""The batch loop delivers batch N while it fetches and applies batch N+1 (``EventProcessor._run``).

Unit tests without Kafka: the consumer is a scripted fake and ``deliver`` is replaced, so what
is checked is the loop's order of effects:
- N+1 is applied while N's delivery is still waiting for acknowledgements, and sees N's states
  (N's store write is still pending);
- N+1's state records are N's encoded before N+1 changed those state objects;
- N+1 is delivered only after N is durable, and offsets are committed in batch order;
- a failed delivery stops the loop: nothing after it is delivered or committed.
The real broker path (acks, changelog, restore, rebalances) is covered by the integration tests.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition

from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.worker import processor as processor_module
from churnwatch_state_monitor.worker.processor import EventProcessor
from churnwatch_state_monitor.worker.work import Work
from tests.state_monitor.events import KafkaRecord, at, txn
from tests.support.batch_loop import EVENTS_TOPIC, offline_processor, until

TOPIC = EVENTS_TOPIC
CUSTOMER = "C-PIPE"
PARTITION = partition_of(customer_id=CUSTOMER, partitions=CUSTOMER_PARTITIONS)
TP = TopicPartition(TOPIC, PARTITION)


def _batch(first: int, count: int) -> dict[TopicPartition, list[KafkaRecord]]:
    return {
        TP: [
            KafkaRecord(CUSTOMER.encode(), orjson.dumps(txn(f"e{n}", CUSTOMER, at(hours=n))), n)
            for n in range(first, first + count)
        ]
    }


class _Consumer:
    """Hands out the scripted batches, then nothing; records every commit."""

    def __init__(self, batches: list[dict[TopicPartition, list[KafkaRecord]]], log: list) -> None:
        self.batches, self.log = batches, log

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict:
        if self.batches:
            self.log.append(("fetched", min(r.offset for r in self.batches[0][TP])))
            return self.batches.pop(0)
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.log.append(("committed", offsets[TP]))


def _processor(tmp_path: Path, consumer: _Consumer) -> EventProcessor:
    # the idempotent path; tests/fencing runs the transactional one
    processor = offline_processor(tmp_path=tmp_path, transactions=False)
    processor.consumer = consumer  # type: ignore[assignment]
    processor.producer = object()  # type: ignore[assignment]  # only the replaced deliver uses it
    processor.running = True
    return processor


async def test_next_batch_is_applied_while_the_previous_one_is_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log: list = []
    acked = {0: asyncio.Event(), 1: asyncio.Event()}
    delivered: list[Work] = []

    async def deliver(work: Work, *, stores: dict, **_: Any) -> None:
        number = len(delivered)
        delivered.append(work)
        log.append(("delivering", number))
        await acked[number].wait()  # the broker's acknowledgement
        for partition, records in work.seal().items():
            stores[partition].write(records, changelog_next=0)
        log.append(("durable", number))

    monkeypatch.setattr(processor_module, "deliver", deliver)
    processor = _processor(tmp_path, _Consumer([_batch(0, 3), _batch(3, 2)], log))
    loop = asyncio.create_task(processor._run())
    try:
        await until(lambda: ("fetched", 3) in log, "the second batch to be fetched")
        await asyncio.sleep(0.05)
        # the second batch was fetched and applied (the first one's delivery starts at the
        # loop's first yield), but it is not delivered before the first one is durable
        assert log[0] == ("fetched", 0)
        assert sorted(log[1:]) == [("delivering", 0), ("fetched", 3)]
        assert processor.stores[PARTITION].get(CUSTOMER) is None  # first store write pending

        acked[0].set()
        await until(lambda: len(delivered) == 2, "the second delivery")
        first, second = delivered
        assert log[3:] == [("durable", 0), ("committed", 3), ("delivering", 1)]
        # the second batch continued from the first one's state, not from the (empty) store
        assert second.states[CUSTOMER].events == 5
        # and the first batch's record is its own state, encoded before the second changed it
        assert CustomerState.decode(first.seal()[PARTITION][CUSTOMER]).events == 3
        assert CustomerState.decode(second.seal()[PARTITION][CUSTOMER]).events == 5

        acked[1].set()
        await until(lambda: ("committed", 5) in log, "the second commit")
        assert log[6:] == [("durable", 1), ("committed", 5)]
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)


async def test_a_failed_delivery_stops_the_loop_before_anything_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log: list = []

    async def deliver(work: Work, **_: Any) -> None:
        log.append(("delivering", work.offsets[TP]))  # the batch's next offset
        await asyncio.sleep(0.05)
        raise ConnectionError("broker gone")

    monkeypatch.setattr(processor_module, "deliver", deliver)
    processor = _processor(tmp_path, _Consumer([_batch(0, 3), _batch(3, 2), _batch(5, 2)], log))
    with pytest.raises(ConnectionError, match="broker gone"):
        await asyncio.wait_for(processor._run(), timeout=5)
    # the second batch was applied meanwhile, but neither it nor the first was committed, and
    # only the first was ever handed to delivery
    assert ("delivering", 3) in log and not any(entry[0] == "committed" for entry in log)
    assert [entry for entry in log if entry[0] == "delivering"] == [("delivering", 3)]
