"""The stall watchdog flags an assigned partition with unread records that stops moving."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from churnwatch_state_monitor import watchdog as watchdog_module
from churnwatch_state_monitor.watchdog import StallWatchdog

TOPIC = "ns.events.v1"


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


@dataclass
class FakeConsumer:
    ends: dict[TP, int]
    _committed_offset: dict[TP, int] = field(default_factory=dict)
    _read_offset: dict[TP, int] = field(default_factory=dict)

    def assignment(self) -> set[TP]:
        return set(self.ends) | {TP("ns-changelog", 0)}

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.ends[tp] for tp in tps}


def _app(consumer: FakeConsumer, *, rebalancing: bool = False) -> SimpleNamespace:
    recovery = SimpleNamespace(in_recovery=False)
    return SimpleNamespace(consumer=consumer, rebalancing=rebalancing,
                           tables=SimpleNamespace(recovery=recovery))


async def test_flags_only_the_partition_that_has_records_and_does_not_move(monkeypatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(watchdog_module.time, "monotonic", lambda: clock[0])
    stuck, idle, busy = TP(TOPIC, 0), TP(TOPIC, 1), TP(TOPIC, 2)
    consumer = FakeConsumer(ends={stuck: 36, idle: 10, busy: 50},
                            _committed_offset={stuck: 24, idle: 10, busy: 20},
                            _read_offset={stuck: 24, idle: 9, busy: 20})
    app = _app(consumer)
    dog = StallWatchdog(stall_after=10)

    await dog.check(app=app, topic=TOPIC)
    clock[0] += 5
    consumer._committed_offset[busy] = 30  # progressing
    await dog.check(app=app, topic=TOPIC)
    assert dog.stalled == set()
    clock[0] += 6
    consumer._committed_offset[busy] = 40
    await dog.check(app=app, topic=TOPIC)
    assert dog.stalled == {0}  # 11 s without progress and 12 records behind
    assert dog.lag == {0: 12, 1: 0, 2: 10}

    consumer._committed_offset[stuck] = 36  # caught up again
    await dog.check(app=app, topic=TOPIC)
    assert dog.stalled == set()


async def test_rebalance_resets_the_clock(monkeypatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(watchdog_module.time, "monotonic", lambda: clock[0])
    tp = TP(TOPIC, 3)
    consumer = FakeConsumer(ends={tp: 5}, _committed_offset={tp: 1}, _read_offset={tp: 1})
    dog = StallWatchdog(stall_after=10)
    await dog.check(app=_app(consumer), topic=TOPIC)
    clock[0] = 20
    await dog.check(app=_app(consumer, rebalancing=True), topic=TOPIC)
    assert dog.stalled == set()
    await dog.check(app=_app(consumer), topic=TOPIC)  # clock restarts after the rebalance
    assert dog.stalled == set()
    clock[0] = 31
    await dog.check(app=_app(consumer), topic=TOPIC)
    assert dog.stalled == {3}
