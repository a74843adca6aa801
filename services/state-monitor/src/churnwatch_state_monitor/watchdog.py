"""Stall watchdog: source partitions that are assigned, have records to read, and do not move.

faust-streaming can leave an assigned partition out of its fetch set after a rebalance (see
``app.py``, "Rebalance stall"). The worker then looks healthy while some customers' events wait
forever. Every ``interval`` seconds, outside rebalances and table recovery, this compares each
assigned EVENTS partition's end offset (asked from the broker, not the fetcher's cached
highwater) with the worker's committed and read offsets. A partition with unread records whose
offsets have not moved for ``stall_after`` seconds is reported: logged with the consumer's view
of it, counted in ``churnwatch_monitor_stalled_partitions`` and /readyz answers 503.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger("churnwatch.state_monitor.watchdog")


@dataclass(slots=True)
class _Seen:
    marker: tuple[int | None, int | None]
    since: float


@dataclass(slots=True)
class StallWatchdog:
    """Tracks per-partition progress; ``stalled`` is what /readyz reports."""

    stall_after: float
    stalled: set[int] = field(default_factory=set)
    lag: dict[int, int] = field(default_factory=dict)
    _seen: dict[Any, _Seen] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget progress markers (a rebalance or recovery restarts the clock)."""
        self._seen.clear()
        self.stalled.clear()

    async def check(self, *, app: Any, topic: str) -> None:
        """One pass over the assigned partitions of ``topic``."""
        if app.rebalancing or getattr(app.tables.recovery, "in_recovery", False):
            self.reset()
            return
        consumer = app.consumer
        try:
            tps = [tp for tp in consumer.assignment() if tp.topic == topic]
            ends = await consumer.highwaters(*tps) if tps else {}
        except Exception as exc:  # noqa: BLE001 - not started yet, or a rebalance began meanwhile
            log.debug("watchdog skipped a check", error=repr(exc))
            return
        if not tps:
            self.reset()
            return
        now = time.monotonic()
        stalled: set[int] = set()
        for tp in tps:
            end = ends.get(tp)
            committed = consumer._committed_offset.get(tp)
            read = consumer._read_offset.get(tp)
            if end is None:
                continue
            self.lag[tp.partition] = max(0, end - (committed or 0))
            marker = (committed, read)
            seen = self._seen.get(tp)
            if seen is None or seen.marker != marker or end <= (committed or 0):
                self._seen[tp] = _Seen(marker=marker, since=now)
                continue
            if now - seen.since >= self.stall_after:
                stalled.add(tp.partition)
                if tp.partition not in self.stalled:
                    log.warning("assigned partition not progressing", **_diagnose(
                        consumer, tp, end=end, committed=committed, read=read,
                        stuck_s=round(now - seen.since, 1)))
        for partition in self.stalled - stalled:
            log.warning("partition progressing again", partition=partition)
        self.stalled = stalled


def _diagnose(consumer: Any, tp: Any, **known: Any) -> dict[str, Any]:
    """What Faust and aiokafka believe about ``tp`` (best effort, for the stall log)."""
    out: dict[str, Any] = {"partition": tp.partition, **known}
    try:
        out["faust_active"] = tp in consumer._get_active_partitions()
        out["faust_paused"] = tp in consumer._paused_partitions
        out["faust_buffered"] = tp in consumer._buffered_partitions
        out["flow_active"] = consumer.flow_active
        inner = consumer._thread._consumer
        state = inner._subscription.subscription.assignment.state_value(tp)
        out["kafka_paused"] = state.paused
        out["kafka_valid_position"] = state.has_valid_position
        out["kafka_position"] = state.position if state.has_valid_position else None
        out["kafka_buffered_fetch"] = tp in inner._fetcher._records
    except Exception as exc:  # noqa: BLE001 - diagnostics must never break the worker
        out["diagnose_error"] = repr(exc)
    return out
