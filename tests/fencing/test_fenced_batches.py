"""The batch loop with fenced writers (transactions on), without Kafka.

Unit tests: the consumer and the partition writers are scripted fakes, so what is checked is the
loop's bookkeeping around the transactions:
- a batch is split by source partition, each customer's records with its partition's share;
- batch N+1 is applied while N's transactions are in flight and delivered only after N's commit;
- a partition whose writer was fenced is dropped before the next batch is delivered: its store
  closed, its writer stopped, its consumer partition paused, and its later records not applied;
  the worker subscribes again to the same topic, so the group rejoins at once.
The real broker path is tests/fencing/test_zombie_worker_integration.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition

from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.worker.processor import EventProcessor
from churnwatch_state_monitor.worker.transactions import split, transactional_id
from churnwatch_state_monitor.worker.work import Work
from tests.state_monitor.events import KafkaRecord, at, txn
from tests.support.batch_loop import EVENTS_TOPIC, offline_processor, until

TOPIC = EVENTS_TOPIC
ONE = "C-FENCE-1"
P1 = partition_of(customer_id=ONE, partitions=CUSTOMER_PARTITIONS)


def _customer_on_other_partition() -> tuple[str, int]:
    for n in range(1000):
        customer = f"C-FENCE-{n}"
        partition = partition_of(customer_id=customer, partitions=CUSTOMER_PARTITIONS)
        if partition != P1:
            return customer, partition
    raise AssertionError("no customer on another partition")


OTHER, P_OTHER = _customer_on_other_partition()


def _records(customer: str, first: int, count: int) -> list[KafkaRecord]:
    return [
        KafkaRecord(
            customer.encode(), orjson.dumps(txn(f"{customer}-e{n}", customer, at(hours=n))), n
        )
        for n in range(first, first + count)
    ]


def _batch(first: int, count: int) -> dict[TopicPartition, list[KafkaRecord]]:
    return {
        TopicPartition(TOPIC, P1): _records(ONE, first, count),
        TopicPartition(TOPIC, P_OTHER): _records(OTHER, first, count),
    }


class _Consumer:
    def __init__(self, batches: list[dict], log: list) -> None:
        self.batches, self.log, self.paused = batches, log, set()
        self.subscribed: list[tuple[list[str], Any]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict:
        if self.batches:
            self.log.append(("fetched", len(self.batches)))
            return self.batches.pop(0)
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(TOPIC, p) for p in range(CUSTOMER_PARTITIONS)}

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.update(tps)

    def subscribe(self, topics: list[str], *, listener: Any) -> None:
        self.subscribed.append((topics, listener))


class _Writers:
    """Scripted writers: each delivery waits for its release; ``fence`` names who is refused."""

    def __init__(self, log: list) -> None:
        self.log = log
        self.released: list[asyncio.Event] = [asyncio.Event() for _ in range(4)]
        self.delivered: list[Work] = []
        self.fence: set[int] = set()
        self.closed: list[int] = []

    async def deliver(self, work: Work, *, partitions: int, stores: dict, faults: Any) -> tuple:
        number = len(self.delivered)
        self.delivered.append(work)
        self.log.append(("delivering", number))
        shares = split(work, partitions=partitions)
        await self.released[number].wait()
        committed = {}
        for partition, share in shares.items():
            if partition in self.fence or partition in self.closed:
                continue
            stores[partition].write(share.states, changelog_next=0)
            if share.offset is not None:
                committed[TopicPartition(TOPIC, partition)] = share.offset
        self.log.append(("committed", number))
        return committed, {p for p in shares if p in self.fence}

    async def close(self, partitions: Any) -> None:
        self.closed.extend(partitions)


def _processor(tmp_path: Path, consumer: _Consumer, writers: _Writers) -> EventProcessor:
    processor = offline_processor(tmp_path=tmp_path, transactions=True)
    processor.consumer = consumer  # type: ignore[assignment]
    processor.writers = writers  # type: ignore[assignment]
    processor.running = True
    return processor


def test_split_puts_each_customers_records_with_its_partition() -> None:
    work = Work()
    work.changed(ONE, P1, CustomerState())
    work.changed(OTHER, P_OTHER, CustomerState())
    work.source[b"C-REDELIVERED"] = P_OTHER  # only a snapshot: its events' partition decides
    work.alerts += [(ONE.encode(), b"a1"), (OTHER.encode(), b"a2")]
    work.snapshots += [(ONE.encode(), b"s1"), (b"C-REDELIVERED", b"s2")]
    work.dead_letters.append((None, b"junk", []))
    work.dead_sources.append(P1)
    work.offsets[TopicPartition(TOPIC, P1)] = 7
    shares = split(work, partitions=CUSTOMER_PARTITIONS)
    assert sorted(shares) == sorted({P1, P_OTHER})
    one, other = shares[P1], shares[P_OTHER]
    assert one.alerts == [(ONE.encode(), b"a1")] and other.alerts == [(OTHER.encode(), b"a2")]
    assert list(one.states) == [ONE] and list(other.states) == [OTHER]
    assert one.snapshots == [(ONE.encode(), b"s1")]
    assert other.snapshots == [(b"C-REDELIVERED", b"s2")]
    assert one.dead_letters == [(None, b"junk", [])] and other.dead_letters == []
    assert (one.offset, other.offset) == (7, None)
    assert transactional_id("ns-state-monitor", 3) == "ns-state-monitor-3"


async def test_next_batch_waits_for_the_commit_and_a_fenced_partition_is_dropped(
    tmp_path: Path,
) -> None:
    log: list = []
    writers = _Writers(log)
    consumer = _Consumer([_batch(0, 3), _batch(3, 2), _batch(5, 2)], log)
    processor = _processor(tmp_path, consumer, writers)
    fenced_store = processor.stores[P1]
    loop = asyncio.create_task(processor._run())
    try:
        await until(lambda: len([e for e in log if e[0] == "fetched"]) == 2, "second fetch")
        await asyncio.sleep(0.05)
        # batch 2 is applied while batch 1's transactions are open, not delivered before them
        assert [e for e in log if e[0] == "delivering"] == [("delivering", 0)]
        first = writers.delivered[0]
        assert first.source[ONE.encode()] == P1 and first.source[OTHER.encode()] == P_OTHER

        writers.fence = {P1}  # another worker's writer took P1 over meanwhile
        writers.released[0].set()
        await until(lambda: len(writers.delivered) == 2, "the second delivery")
        # P1 was dropped before batch 2 went out: writer stopped, store closed, fetch paused
        assert writers.closed == [P1]
        assert P1 not in processor.stores and len(fenced_store) == 0
        assert TopicPartition(TOPIC, P1) in consumer.paused
        # and the group is asked for a new generation at once, through the public subscribe
        assert consumer.subscribed == [([TOPIC], processor.listener)]
        assert processor.metrics.registry.get_sample_value("churnwatch_monitor_fenced_total") == 1
        assert P1 not in processor.committed
        assert processor.committed[P_OTHER] == 3

        writers.released[1].set()
        await until(lambda: len(writers.delivered) == 3, "the third delivery")
        third = writers.delivered[2]
        # P1's records are no longer applied here: its new owner applies them
        assert ONE not in third.states and third.states[OTHER].events == 7
        assert TopicPartition(TOPIC, P1) not in third.offsets
        writers.released[2].set()
        await until(lambda: ("committed", 2) in log, "the third commit")
        assert processor.committed[P_OTHER] == 7
        assert CustomerState.decode(processor.stores[P_OTHER].get(OTHER)).events == 7
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
