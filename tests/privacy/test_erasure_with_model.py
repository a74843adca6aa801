"""With a live churn model the worker rescores a batch and rebuilds its snapshots
(``ModelHook.rescore``): an erasure in the same batch as other customers' events must still put
its snapshot tombstone out, beside the changelog tombstone. The worker's own order is followed:
apply, rescore, seal, then the erasures' tombstones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiokafka import TopicPartition

from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.settings import CommonSettings
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.silence import SilenceIndex
from churnwatch_state_monitor.ruleset import load_ruleset
from churnwatch_state_monitor.worker.metrics import MonitorMetrics
from churnwatch_state_monitor.worker.processor import EventProcessor
from churnwatch_state_monitor.worker.settings import MonitorSettings
from churnwatch_state_monitor.worker.store import MemoryStore
from churnwatch_state_monitor.worker.work import Topics, Work
from tests.state_monitor.events import KafkaRecord
from tests.state_monitor.test_erasure_apply import _erasure

TOPIC = "ns.events.v1"


async def _never(exc: BaseException) -> None:
    raise AssertionError(f"crash not expected: {exc!r}")


async def test_the_snapshot_tombstone_survives_the_models_rescoring(
    tmp_path: Path, model_dir: Path
) -> None:
    settings = MonitorSettings(
        store="memory://",
        data_dir=tmp_path,
        app_id="ns-state-monitor",
        common=CommonSettings(),
        model_dir=model_dir,
    )
    processor = EventProcessor(
        settings=settings,
        monitor=Monitor(ruleset=load_ruleset(None)),
        metrics=MonitorMetrics(),
        events_topic=TOPIC,
        on_crash=_never,
        names=Topics(alerts="a", snapshots="s", dead_letter="d", changelog="c"),
    )
    assert processor.model is not None and processor.model.live is not None
    processor.stores = {p: MemoryStore(p) for p in range(CUSTOMER_PARTITIONS)}
    processor.scanner.indexes = {p: SilenceIndex() for p in range(CUSTOMER_PARTITIONS)}
    events = list(SimulatedBank(config=SimulationConfig(customers=8, days=120, seed=3)).events())
    customers = sorted({e["customer_id"] for e in events})
    gone = customers[0]
    last = max(datetime.fromisoformat(e["occurred_at"]) for e in events).astimezone(UTC)
    batch: dict[TopicPartition, list[KafkaRecord]] = {}
    offsets: dict[int, int] = {}
    for event in [*events, {"erase": gone}]:
        customer = event.get("erase") or event["customer_id"]
        partition = partition_of(customer_id=customer, partitions=CUSTOMER_PARTITIONS)
        value = (
            _erasure(gone, last + timedelta(days=1)) if "erase" in event else orjson.dumps(event)
        )
        offset = offsets[partition] = offsets.get(partition, -1) + 1
        batch.setdefault(TopicPartition(TOPIC, partition), []).append(
            KafkaRecord(customer.encode(), value, offset)
        )
    work = Work()
    await processor._apply(batch, work)  # the worker's loop: apply, rescore, seal, tombstones
    processor.model.rescore(work)
    work.seal()
    processor.erasures.sealed(work, names=processor.names)
    key = gone.encode()
    snapshots = dict(work.snapshots)
    assert key in snapshots and snapshots[key] is None  # the tombstone
    assert len(snapshots) == len(customers)  # the others' rescored snapshots are there too
    partition = partition_of(customer_id=gone, partitions=CUSTOMER_PARTITIONS)
    assert work.seal()[partition][gone] is None
