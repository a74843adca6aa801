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

from churnwatch_state_monitor.worker.work import Work
from tests.state_monitor.events import KafkaRecord, at, txn
from tests.support.batch_loop import EVENTS_TOPIC, offline_processor

TOPIC = EVENTS_TOPIC
RECORDS = 2_000
# a step of the previous batch's commit waits at most this many records' work
MOST_RECORDS_BETWEEN_TURNS = 200


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
    processor = offline_processor(tmp_path=tmp_path)
    work = Work()
    turns = await _turns_during(processor._apply(_batch(), work))
    assert len(work.dirty) == RECORDS  # every record applied
    assert turns >= RECORDS // MOST_RECORDS_BETWEEN_TURNS


async def test_encoding_a_large_batch_gives_the_loop_turns(tmp_path: Path) -> None:
    processor = offline_processor(tmp_path=tmp_path)
    work = Work()
    await processor._apply(_batch(), work)
    turns = await _turns_during(work.encode(every=MOST_RECORDS_BETWEEN_TURNS // 2))
    assert sum(len(records) for records in work.seal().values()) == RECORDS
    assert turns >= RECORDS // MOST_RECORDS_BETWEEN_TURNS
