"""The monitor's batch loop without Kafka, for its unit tests (pipelining, fencing, loop turns).

An ``EventProcessor`` with the packaged rule set and one in-memory store per customer partition;
each test then puts in its own scripted consumer, writers or producer, which are what it checks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from churnwatch_shared.settings import CommonSettings
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset
from churnwatch_state_monitor.worker.metrics import MonitorMetrics
from churnwatch_state_monitor.worker.processor import EventProcessor
from churnwatch_state_monitor.worker.settings import MonitorSettings
from churnwatch_state_monitor.worker.store import MemoryStore
from churnwatch_state_monitor.worker.work import Topics

EVENTS_TOPIC = "ns.events.v1"


def offline_processor(*, tmp_path: Path, transactions: bool = True) -> EventProcessor:
    """A processor on memory stores with no Kafka client; a crash fails the test."""
    settings = MonitorSettings(
        store="memory://",
        data_dir=tmp_path,
        app_id="ns-state-monitor",
        scan_interval_s=0,
        transactions=transactions,
        common=CommonSettings(),
    )

    async def crashed(exc: BaseException) -> None:
        raise AssertionError(f"crash not expected: {exc!r}")

    processor = EventProcessor(
        settings=settings,
        monitor=Monitor(ruleset=load_ruleset(None)),
        metrics=MonitorMetrics(),
        events_topic=EVENTS_TOPIC,
        on_crash=crashed,
        names=Topics(alerts="a", snapshots="s", dead_letter="d", changelog="c"),
    )
    processor.stores = {p: MemoryStore(p) for p in range(CUSTOMER_PARTITIONS)}
    return processor


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait up to ~5 s of loop time for ``condition``; fail naming ``what``."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")
