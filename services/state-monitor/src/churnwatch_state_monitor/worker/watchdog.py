"""Stall watchdog: owned source partitions that have records to read and do not move.

A worker can look healthy while some customers' events wait: a fetch that never returns, a
batch stuck on a broker that does not acknowledge, a partition the consumer stopped fetching.
Every ``interval`` seconds the processor asks the broker for the end offsets of the EVENTS
partitions it owns and passes them here with its committed offsets. A partition with unread
records whose committed offset has not moved for ``stall_after`` seconds is reported: logged,
counted in ``churnwatch_monitor_stalled_partitions``, and /readyz answers 503.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger("churnwatch.state_monitor.watchdog")


@dataclass(slots=True)
class _Seen:
    committed: int
    since: float


@dataclass(slots=True)
class StallWatchdog:
    """Tracks per-partition progress; ``stalled`` is what /readyz reports."""

    stall_after: float
    stalled: set[int] = field(default_factory=set)
    lag: dict[int, int] = field(default_factory=dict)
    _seen: dict[int, _Seen] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget progress markers (a rebalance restarts the clock)."""
        self._seen.clear()
        self.stalled.clear()
        self.lag.clear()

    def check(
        self, *, ends: dict[int, int], committed: dict[int, int], now: float | None = None
    ) -> set[int]:
        """One pass: ``ends`` and ``committed`` offsets by owned partition; returns the stalled."""
        now = time.monotonic() if now is None else now
        stalled: set[int] = set()
        for partition in set(self._seen) - set(ends):
            del self._seen[partition]
        for partition, end in ends.items():
            done = committed.get(partition, 0)
            self.lag[partition] = max(0, end - done)
            seen = self._seen.get(partition)
            if seen is None or seen.committed != done or end <= done:
                self._seen[partition] = _Seen(committed=done, since=now)
                continue
            if now - seen.since >= self.stall_after:
                stalled.add(partition)
                if partition not in self.stalled:
                    log.warning(
                        "owned partition not progressing",
                        partition=partition,
                        committed=done,
                        end=end,
                        stuck_s=round(now - seen.since, 1),
                    )
        for partition in self.stalled - stalled:
            log.warning("partition progressing again", partition=partition)
        for partition in set(self.lag) - set(ends):
            del self.lag[partition]
        self.stalled = stalled
        return stalled
