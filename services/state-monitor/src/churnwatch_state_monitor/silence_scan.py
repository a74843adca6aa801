"""The worker side of event-time silence rules: per active partition a ``SilenceIndex``, a timer tick.

- Every applied event updates its partition's watermark and the customer's due time
  (``note_event``, called by the agent after the state write).
- On each tick (``tick``), for every EVENTS partition this worker actively owns (standbys are
  never scanned), the customers due by that partition's watermark are popped (at most ``budget``
  per tick in all) and ``Monitor.scan`` judges them. Alerts go through the agent's path (acked by
  the broker before the state record is written), the record is written to the table inside that
  partition (see ``_in_partition``), and the snapshot is re-published.
- Indexes are rebuilt from the table when the set of active partitions changes (after a
  rebalance and its table recovery): due times from each record, and the watermark as the newest
  ``occurred_at`` among the partition's records, i.e. exactly the newest event applied there
  (never wall-clock time, so a replay or a backtest raises the same alerts).

The agent may update a customer while a tick awaits alert acks: the tick then writes nothing (the
table value changed under it); the customer's next event or the next tick re-judges it with the
same deterministic alert id.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import structlog
from faust.streams import _current_event

from churnwatch_shared.topics import CUSTOMER_PARTITIONS

from churnwatch_state_monitor.engine import Monitor
from churnwatch_state_monitor.silence import SilenceIndex, partition_of
from churnwatch_state_monitor.state import CustomerState

log = structlog.get_logger("churnwatch.state_monitor.silence")
_REBUILD_CHUNK = 5_000  # records decoded between yields to the event loop


class _PartitionEvent:
    """Stands in for a stream event so Faust's table writes land in ``partition``."""

    def __init__(self, *, topic: str, partition: int) -> None:
        self.message = SimpleNamespace(topic=topic, partition=partition)


class SilenceScanner:
    """Holds the per-partition indexes of one worker and runs the periodic evaluation."""

    def __init__(self, *, app: Any, table: Any, topic: str, monitor: Monitor, budget: int,
                 publish: Callable[[bytes, list[Any]], Awaitable[None]],
                 publish_snapshot: Callable[[bytes, bytes], Awaitable[Any]]) -> None:
        self.app, self.table, self.topic, self.monitor = app, table, topic, monitor
        self.budget = budget
        self.publish, self.publish_snapshot = publish, publish_snapshot
        self.indexes: dict[int, SilenceIndex] = {}
        self.fired = 0

    def note_event(self, *, partition: int, customer_id: str, at: int,
                   state: CustomerState) -> None:
        """An event was applied (its state written) on ``partition``."""
        index = self.indexes.get(partition)
        if index is not None:  # not built yet: the rebuild will read this record from the table
            index.observe(at)
            index.schedule(customer_id, self.monitor.silence_due(state))

    def _active(self) -> set[int] | None:
        if self.app.rebalancing or getattr(self.app.tables.recovery, "in_recovery", False):
            return None
        try:
            actives = self.app.assignor.assigned_actives()
        except Exception:  # noqa: BLE001 - not assigned yet
            return None
        return {tp.partition for tp in actives if tp.topic == self.topic}

    async def _rebuild(self, active: set[int]) -> None:
        """Drop lost partitions' indexes and build gained ones from the table.

        The new indexes are live at once (the agent's updates land in them while the table is
        read in chunks), so a record read before or after its customer's next event ends with
        that event's due time; a watermark still being rebuilt is only ever too low.
        """
        for partition in set(self.indexes) - active:
            del self.indexes[partition]
        gained = active - set(self.indexes)
        if not gained:
            return
        fresh = {p: SilenceIndex() for p in gained}
        self.indexes.update(fresh)
        keys = list(self.table.keys())  # a copy: the agent may add customers meanwhile
        for n, key in enumerate(keys, start=1):
            index = fresh.get(partition_of(key, CUSTOMER_PARTITIONS))
            raw = self.table.get(key) if index is not None else None
            if raw is not None:
                st = CustomerState.decode(raw)
                index.observe(st.newest)
                index.schedule(key, self.monitor.silence_due(st))
            if n % _REBUILD_CHUNK == 0:
                await asyncio.sleep(0)
        log.info("silence indexes rebuilt", partitions=sorted(gained),
                 customers=sum(len(i.due) for i in fresh.values()))

    def _in_partition(self, partition: int, key: str, value: bytes) -> None:
        """``table[key] = value`` with the changelog (and RocksDB) partition ``partition``.

        Faust derives both from the current stream event and refuses writes outside one (a
        timer has none); the stand-in is scoped to this task's context and reset at once.
        """
        stand_in = _PartitionEvent(topic=self.topic, partition=partition)
        token = _current_event.set(weakref.ref(stand_in))
        try:
            self.table[key] = value
        finally:
            _current_event.reset(token)

    async def tick(self) -> int:
        """One pass over the active partitions; returns how many alerts fired."""
        active = self._active()
        if active is None:
            return 0
        await self._rebuild(active)
        active &= set(self.indexes)  # a rebalance may have started meanwhile
        budget, fired = self.budget, 0
        for partition in sorted(active):
            index = self.indexes.get(partition)
            if index is None or self._active() is None:
                break  # a rebalance began: the next tick starts over with the new assignment
            for customer_id, _ in index.pop_due(limit=budget):
                budget -= 1
                fired += await self._judge(index, partition, customer_id)
            if budget <= 0:
                break
        self.fired += fired
        return fired

    async def _judge(self, index: SilenceIndex, partition: int, customer_id: str) -> int:
        raw = self.table.get(customer_id)
        if raw is None:
            return 0
        st = CustomerState.decode(raw)
        alerts = self.monitor.scan(st, customer_id, watermark=index.watermark,
                                   now=datetime.now(UTC))
        new = st.encode()
        if new != raw:
            key = customer_id.encode()
            if alerts:
                await self.publish(key, alerts)  # acked before the state record is written
            # write only if this worker still owns the partition and the agent did not move on
            if self._active() is not None and self.table.get(customer_id) == raw:
                self._in_partition(partition, customer_id, new)
                if alerts:
                    await self.publish_snapshot(key, self.monitor.snapshot_bytes(customer_id, st))
        index.schedule(customer_id, self.monitor.silence_due(
            CustomerState.decode(self.table.get(customer_id) or new)))
        return len(alerts)
