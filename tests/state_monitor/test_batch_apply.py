"""A batch applied by the worker (``EventProcessor._apply``), without Kafka.

The silence index is updated once per changed customer at the end of a batch (from its final
state) instead of once per event; that must leave every partition's watermark, due times and
the order customers come due exactly as noting every event one by one would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import TopicPartition

from churnwatch_shared.events import parse_event
from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_state_monitor.engine.monitor import Monitor, Status
from churnwatch_state_monitor.engine.silence import SilenceIndex
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.ruleset import load_ruleset
from churnwatch_state_monitor.worker.processor import EventProcessor
from churnwatch_state_monitor.worker.work import Work
from tests.state_monitor.events import KafkaRecord
from tests.support.batch_loop import EVENTS_TOPIC, offline_processor

TOPIC = EVENTS_TOPIC


def _processor(tmp_path: Path) -> EventProcessor:
    processor = offline_processor(tmp_path=tmp_path)
    processor.scanner.indexes = {p: SilenceIndex() for p in range(CUSTOMER_PARTITIONS)}
    return processor


async def test_silence_index_after_batches_equals_noting_every_event(tmp_path: Path) -> None:
    bank = SimulatedBank(config=SimulationConfig(customers=60, days=240, seed=5))
    events = list(bank.events())
    processor = _processor(tmp_path)
    reference = Monitor(ruleset=load_ruleset(None))
    ref_states: dict[str, CustomerState] = {}
    ref_index = {p: SilenceIndex() for p in range(CUSTOMER_PARTITIONS)}
    offsets = dict.fromkeys(range(CUSTOMER_PARTITIONS), 0)
    now = datetime.now(UTC)
    applied = popped = 0
    for start in range(0, len(events), 700):
        batch: dict[TopicPartition, list[KafkaRecord]] = {}
        for event in events[start : start + 700]:
            customer = event["customer_id"]
            partition = partition_of(customer_id=customer, partitions=CUSTOMER_PARTITIONS)
            batch.setdefault(TopicPartition(TOPIC, partition), []).append(
                KafkaRecord(customer.encode(), orjson.dumps(event), offsets[partition])
            )
            offsets[partition] += 1
        if start == 1400:  # one record arrives twice (a producer re-send): no silence effect
            records = next(iter(batch.values()))
            records.append(KafkaRecord(records[0].key, records[0].value, records[-1].offset + 1))
            offsets[next(iter(batch)).partition] += 1

        work = Work()
        await processor._apply(batch, work)
        for partition, records in work.seal().items():  # what deliver() does after the acks
            processor.stores[partition].write(records, changelog_next=0)

        for tp, records in batch.items():  # the reference: every event noted one by one
            for record in records:
                event = parse_event(record.value)
                outcome = reference.process(
                    ref_states.get(event.customer_id), event, now=now, offset=record.offset
                )
                if outcome.status is Status.APPLIED:
                    applied += 1
                    st = ref_states[event.customer_id] = outcome.state
                    ref_index[tp.partition].observe(st.newest)
                    ref_index[tp.partition].schedule(event.customer_id, reference.silence_due(st))

        for partition, index in processor.scanner.indexes.items():
            expected = ref_index[partition]
            assert index.watermark == expected.watermark
            assert index.due == expected.due
            due_now = index.pop_due(limit=3)  # a tick's pops come in the same order
            assert due_now == expected.pop_due(limit=3)
            popped += len(due_now)
    assert applied > 5_000 and popped >= 5  # the run did exercise both paths
    assert sum(len(i.due) for i in ref_index.values()) > 30
