"""The batch loop leaves the event loop to the previous batch's delivery while it works.

Batches are pipelined (``processor._run``): batch N's transactions (a handful of broker round
trips each, every step needing a turn of the event loop) run while batch N+1 is applied and
encoded. Work that holds the loop for a whole large batch stalls every step of N's commit, so
N's alerts reach the alerts service one apply later. These unit tests count the turns another
task gets while a batch of 2,000 records is applied and while its states are encoded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition

from churnwatch_shared.settings import CommonSettings
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset
from churnwatch_state_monitor.worker.metrics import MonitorMetrics
from churnwatch_state_monitor.worker.processor import EventProcessor
from churnwatch_state_monitor.worker.settings import MonitorSettings
from churnwatch_state_monitor.worker.store import MemoryStore
from churnwatch_state_monitor.worker.work import Topics, Work
from tests.state_monitor.events import KafkaRecord, at, txn

TOPIC = "ns.events.v1"
RECORDS = 2_000
# a step of the previous batch's commit waits at most this many records' work
MOST_RECORDS_BETWEEN_TURNS = 200


def _processor(tmp_path: Path) -> EventProcessor:
    settings = MonitorSettings(
        store="memory://",
        data_dir=tmp_path,
        app_id="ns-state-monitor",
        scan_interval_s=0,
        common=CommonSettings(),
    )

    async def crashed(exc: BaseException) -> None:
        raise AssertionError(f"crash not expected: {exc!r}")

    processor = EventProcessor(
        settings=settings,
        monitor=Monitor(ruleset=load_ruleset(None)),
        metrics=MonitorMetrics(),
        events_topic=TOPIC,
        on_crash=crashed,
        names=Topics(alerts="a", snapshots="s", dead_letter="d", changelog="c"),
    )
    processor.stores = {p: MemoryStore(p) for p in range(CUSTOMER_PARTITIONS)}
    return processor


def _batch() -> dict[TopicPartition, list[Any]]:
    """RECORDS events of RECORDS customers, all from one partition (a backlog of it)."""
    records = [
        KafkaRecord(f"C-TURN-{n}".encode(), orjson.dumps(txn(f"e{n}", f"C-TURN-{n}", at())), n)
        for n in range(RECORDS)
    ]
    return {TopicPartition(TOPIC, 0): records}


async def _turns_during(work: Any) -> int:
    """How many turns of the event loop another task got while ``work`` ran."""
    turns = 0
    done = False

    async def other() -> None:
        nonlocal turns
        while not done:
            await asyncio.sleep(0)
            turns += 1

    task = asyncio.create_task(other())
    await asyncio.sleep(0)  # started
    start = turns
    await work
    done = True
    await task
    return turns - start


async def test_applying_a_large_batch_gives_the_loop_turns(tmp_path: Path) -> None:
    processor = _processor(tmp_path)
    work = Work()
    turns = await _turns_during(processor._apply(_batch(), work))
    assert len(work.dirty) == RECORDS  # every record applied
    assert turns >= RECORDS // MOST_RECORDS_BETWEEN_TURNS


async def test_encoding_a_large_batch_gives_the_loop_turns(tmp_path: Path) -> None:
    processor = _processor(tmp_path)
    work = Work()
    await processor._apply(_batch(), work)
    turns = await _turns_during(work.encode(every=MOST_RECORDS_BETWEEN_TURNS // 2))
    assert sum(len(records) for records in work.seal().values()) == RECORDS
    assert turns >= RECORDS // MOST_RECORDS_BETWEEN_TURNS
