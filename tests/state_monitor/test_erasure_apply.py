"""An erasure event in the worker's batch path (``EventProcessor._apply`` + ``worker/erasure.py``),
without Kafka: state, alerts, snapshots and silence due time of the customer go; tombstones are
queued for the changelog and the snapshot topic; the next batch does not read the old record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiokafka import TopicPartition

from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_state_monitor.worker.store import MemoryStore
from churnwatch_state_monitor.worker.work import Work
from tests.state_monitor.events import KafkaRecord
from tests.state_monitor.test_batch_apply import TOPIC, _processor


def _erasure(customer_id: str, at: datetime) -> bytes:
    return orjson.dumps(
        {
            "event_id": "er-1",
            "event_type": "customer.erasure_requested",
            "occurred_at": at.isoformat(),
            "customer_id": customer_id,
            "payload": {"erasure_id": "er-1"},
        }
    )


async def test_erasure_drops_state_alerts_snapshots_and_queues_tombstones(tmp_path: Path) -> None:
    bank = SimulatedBank(config=SimulationConfig(customers=6, days=200, seed=7))
    events = list(bank.events())
    processor = _processor(tmp_path)
    customers = sorted({e["customer_id"] for e in events})
    gone = customers[0]
    partition = partition_of(customer_id=gone, partitions=CUSTOMER_PARTITIONS)
    tp = TopicPartition(TOPIC, partition)
    mine = [e for e in events if e["customer_id"] == gone]
    half = len(mine) // 2
    # batch 1: half of the customer's history, delivered (the store holds their state)
    work = Work()
    records = [KafkaRecord(gone.encode(), orjson.dumps(e), i) for i, e in enumerate(mine[:half])]
    await processor._apply({tp: records}, work)
    work.seal()
    processor.erasures.sealed(work, names=processor.names)
    for p, recs in work.seal().items():
        processor.stores[p].write(recs, changelog_next=0)
    assert processor.stores[partition].get(gone) is not None
    assert gone in processor.scanner.indexes[partition].due

    # batch 2: the rest of the history, then the erasure
    last_at = datetime.fromisoformat(mine[-1]["occurred_at"]).astimezone(UTC)
    work = Work()
    records = [
        KafkaRecord(gone.encode(), orjson.dumps(e), half + i) for i, e in enumerate(mine[half:])
    ]
    records.append(KafkaRecord(gone.encode(), _erasure(gone, last_at + timedelta(days=1)), 10_000))
    await processor._apply({tp: records}, work)
    key = gone.encode()
    assert gone not in work.states and gone not in work.dirty
    assert [k for k, _ in work.alerts if k == key] == []
    assert [(k, v) for k, v in work.snapshots if k == key] == []  # its snapshots dropped
    assert gone not in processor.scanner.indexes[partition].due
    work.seal()
    processor.erasures.sealed(work, names=processor.names)
    encoded = work.seal()
    assert [(k, v) for k, v in work.snapshots if k == key] == [(key, None)]  # the tombstone
    assert encoded[partition] == {gone: None}  # the changelog tombstone
    assert processor.erasures.gone == {gone}

    # batch 3 is applied before batch 2's store write: the old record must not be read
    later = mine[-1] | {
        "event_id": "after-erasure",
        "occurred_at": (last_at + timedelta(days=2)).isoformat(),
    }
    work3 = Work()
    await processor._apply({tp: [KafkaRecord(key, orjson.dumps(later), 10_001)]}, work3)
    assert work3.states[gone].events == 1  # a new record: none of the erased history

    for p, recs in encoded.items():  # batch 2's delivery: the tombstone deletes the key
        processor.stores[p].write(recs, changelog_next=0)
    assert processor.stores[partition].get(gone) is None


def test_stores_delete_on_a_tombstone(tmp_path: Path) -> None:
    from churnwatch_state_monitor.worker.store import RocksStore

    for store in (MemoryStore(0), RocksStore(0, path=tmp_path / "p0")):
        store.write({"a": b"1", "b": b"2"}, changelog_next=5)
        store.write({"a": None}, changelog_next=6)
        assert store.get("a") is None and store.get("b") == b"2"
        assert dict(store.items()) == {"b": b"2"} and len(store) == 1
        store.close()
