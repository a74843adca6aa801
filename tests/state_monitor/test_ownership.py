"""Partition hand-over inside one worker: revoked stores are parked and reused on re-assignment.

Unit test: the changelog restore (tested on the real broker in test_changelog_integration.py) is
replaced by a no-op, so only the processor's ownership bookkeeping runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from churnwatch_shared.settings import CommonSettings
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset
from churnwatch_state_monitor.worker import processor as processor_module
from churnwatch_state_monitor.worker.metrics import MonitorMetrics
from churnwatch_state_monitor.worker.processor import EventProcessor
from churnwatch_state_monitor.worker.settings import MonitorSettings
from churnwatch_state_monitor.worker.work import Topics


async def _never(exc: BaseException) -> None:
    raise AssertionError(f"crash not expected: {exc!r}")


async def _no_restore(consumer: object, *, topic: str, stores: dict) -> int:
    return 0


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_empty_partition_revoked_and_assigned_again(
    store: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(processor_module.changelog, "restore", _no_restore)
    settings = MonitorSettings(
        store=store,
        data_dir=tmp_path,
        app_id="ns-state-monitor",
        transactions=False,  # the lease guard's path; tests/fencing runs the fenced writers
        common=CommonSettings(),
    )
    processor = EventProcessor(
        settings=settings,
        monitor=Monitor(ruleset=load_ruleset(None)),
        metrics=MonitorMetrics(),
        events_topic="ns.events.v1",
        on_crash=_never,
        names=Topics(alerts="a", snapshots="s", dead_letter="d", changelog="c"),
    )
    processor._restorer = processor.consumer = object()  # only restore() would use them
    asked = time.monotonic()
    await processor.assign({0, 1})
    # a batch asked for before the assignment finished is leased from the assignment's end;
    # default session timeout 15 s, heartbeat 3 s
    leased_from = processor.lease_end(asked) - 12.0
    assert asked < leased_from <= time.monotonic()
    assert processor.lease_end(asked + 100) == pytest.approx(asked + 112.0)
    first = processor.stores[0]
    await processor.revoke({0, 1})
    assert processor.stores == {}
    # partition 0 holds no customer (its store is empty, hence falsy): the parked store is
    # reused, not opened a second time (RocksDB refuses a second handle on the same files)
    await processor.assign({0})
    assert processor.stores[0] is first
    for st in processor.stores.values():
        st.close()
