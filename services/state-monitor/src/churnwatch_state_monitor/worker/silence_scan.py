"""The worker side of event-time silence rules: one ``SilenceIndex`` per owned partition.

- Every batch's applied events update their partition's watermark and their customers' due
  times (``note_applied``).
- On each tick (``tick``, run by the processor between batches, never concurrently with one),
  the customers due by their partition's watermark are popped (at most ``budget`` per tick in
  all) and ``Monitor.scan`` judges them. What changes goes into the same ``Work`` as a batch's
  effects, so alerts are acknowledged before the state record, exactly like for events.
- An index is built from the partition's store when the partition is assigned: due times from
  each record, and the watermark as the newest ``occurred_at`` among its records, i.e. the newest
  event applied there (never wall-clock time, so a replay or a backtest raises the same alerts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from churnwatch_shared.alerts import Alert
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.silence import SilenceIndex
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.worker.store import PartitionStore
from churnwatch_state_monitor.worker.work import Work

log = structlog.get_logger("churnwatch.state_monitor.silence")
_BUILD_CHUNK = 5_000  # records decoded between yields to the event loop


class SilenceScanner:
    """Holds the per-partition indexes of one worker and runs the periodic evaluation."""

    def __init__(
        self, *, monitor: Monitor, budget: int, count: Callable[[Alert], None] | None = None
    ) -> None:
        self.monitor = monitor
        self.budget = budget
        # the worker's alert counter: the timer's alerts are counted like the events' (issue 14)
        self.count = count
        self.indexes: dict[int, SilenceIndex] = {}
        self.fired = 0

    def note_applied(self, dirty: dict[str, int], states: dict[str, CustomerState]) -> None:
        """A batch applied events to the customers in ``dirty`` (customer -> EVENTS partition,
        final states in ``states``): each partition's watermark takes their newest event times,
        each customer's due time comes from its final state. The same result as noting every
        event (``newest`` only grows; a due time is overwritten by the next), with one due-time
        computation per customer and batch instead of one per event."""
        self.monitor.schedule_silence(self.indexes, dirty, states)

    def drop(self, partition: int) -> None:
        self.indexes.pop(partition, None)

    async def build(self, partition: int, store: PartitionStore) -> None:
        """The index of a newly assigned partition, from its restored store."""
        index = SilenceIndex()
        for n, (customer_id, raw) in enumerate(store.items(), start=1):
            st = CustomerState.decode(raw)
            index.observe(st.newest)
            index.schedule(customer_id, self.monitor.silence_due(st))
            if n % _BUILD_CHUNK == 0:
                await asyncio.sleep(0)
        self.indexes[partition] = index

    def tick(self, work: Work, stores: dict[int, PartitionStore]) -> int:
        """Judge the due customers of every owned partition into ``work``; returns alerts fired."""
        budget, fired = self.budget, 0
        now = datetime.now(UTC)
        for partition in sorted(stores):
            index = self.indexes.get(partition)
            if index is None:
                continue
            store = stores[partition]
            for customer_id, _ in index.pop_due(limit=budget):
                budget -= 1
                fired += self._judge(work, index, partition, customer_id, store, now)
            if budget <= 0:
                break
        self.fired += fired
        return fired

    def _judge(
        self,
        work: Work,
        index: SilenceIndex,
        partition: int,
        customer_id: str,
        store: PartitionStore,
        now: datetime,
    ) -> int:
        st = work.states.get(customer_id)
        if st is None:
            raw = store.get(customer_id)
            if raw is None:
                return 0
            st = CustomerState.decode(raw)
            before: bytes | None = raw
        else:
            before = None  # already changed in this batch: written anyway
        alerts = self.monitor.scan(st, customer_id, watermark=index.watermark, now=now)
        work.judged[customer_id] = (st, index.watermark)
        work.source[customer_id.encode()] = partition  # its records join this partition's txn
        changed = before is None or bool(alerts) or st.encode() != before
        if changed:
            work.changed(customer_id, partition, st)
        if alerts and self.count is not None:
            for alert in alerts:
                self.count(alert)
        if changed:  # a refreshed score is published too: the inbox is at most one tick behind
            key = customer_id.encode()
            work.alerts.extend((key, a.model_dump_json().encode()) for a in alerts)
            work.snapshots.append((key, self.monitor.snapshot_bytes(customer_id, st)))
        index.schedule(customer_id, self.monitor.silence_due(st))
        return len(alerts)
