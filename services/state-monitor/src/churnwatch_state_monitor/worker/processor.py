"""The event path: EVENTS in batches through ``Monitor.process``, effects out in a safe order.

A consumer-group member (group = the app id) reads EVENTS with ``getmany``; each batch is applied
record by record through the one code path the backtest uses (``Monitor.process``, called by the
compiled loop in ``batch``), and its effects are made durable:
- transactions on (default, ``transactions.py``): per source partition, its alerts, dead letters,
  state records (changelog partition = EVENTS partition), snapshots and source offset in one Kafka
  transaction of that partition's fenced writer; the partitions of a batch commit concurrently;
- transactions off: in the order ``work.deliver`` documents: alerts acked, then one state record
  per changed customer on the changelog, then snapshots, then the source offsets committed.
The local store takes a batch's state records only once they are durable (committed).

Batches are pipelined one deep: while batch N waits for its acknowledgements and commit (a
task), batch N+1 is fetched and applied, reading the states N left (its store write is still
pending); N's state records were encoded before that. N+1's delivery starts only after all of N
is durable and committed, so within every partition the changelog and the committed offset
advance batch by batch, and a failed delivery stops the worker before anything after it is
written. A partition whose transaction was fenced is dropped before N+1 is delivered, so N+1's
share of it (applied on top of N's uncommitted states) is never sent.

Why not Faust's agent/table path: its per-message dispatch costs ~100 µs before any of our code
runs and every table write is its own changelog send, which caps a worker near 4-5k events/s
with the rule set (measured, bench/results). Batching here pays Kafka costs per batch and per
customer instead of per event. Faust still hosts the worker: lifecycle, signals, web views.

Partition ownership (aiokafka rebalance listener):
- revoked: waits for the batch in flight (it finishes, acks and commits), then parks the
  partitions' stores;
- assigned: reuses a parked store or opens one, brings it up to the changelog's end
  (``changelog.restore``), builds its silence index; only then are its records processed.
Records fetched for a partition that is no longer owned are skipped (the new owner reads them
from the committed offset). Every record is applied at most once to a state: each state record
keeps the source offset of the newest event applied to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from itertools import chain
from math import inf
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from churnwatch_shared.kafka_topology import CHANGELOG
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_state_monitor.engine.batch import BatchEffects, apply_records
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.worker import changelog, clients, lineage, ownership
from churnwatch_state_monitor.worker.counters import BatchCounters
from churnwatch_state_monitor.worker.erasure import Erasures
from churnwatch_state_monitor.worker.faults import FaultPoints
from churnwatch_state_monitor.worker.metrics import MonitorMetrics
from churnwatch_state_monitor.worker.model_hook import ModelHook
from churnwatch_state_monitor.worker.owners import PartitionOwners
from churnwatch_state_monitor.worker.settings import MonitorSettings
from churnwatch_state_monitor.worker.silence_scan import SilenceScanner
from churnwatch_state_monitor.worker.store import PartitionStore
from churnwatch_state_monitor.worker.transactions import PartitionWriters
from churnwatch_state_monitor.worker.watchdog import StallWatchdog
from churnwatch_state_monitor.worker.work import Topics, Work, deliver

log = structlog.get_logger("churnwatch.state_monitor")


# Records applied (or states encoded) between yields to the event loop. The previous batch's
# transactions (several broker round trips each) and the fetcher only move at a yield, so each
# step of that commit waits up to this much work: ~3 ms at 128 (1,000 held the loop for a whole
# chunk per step, and a backlog's batch delayed the alerts before it by hundreds of ms).
_YIELD_EVERY = 128


def _log_late(event: Any) -> None:
    log.warning("late event not merged", event_id=event.event_id, customer_id=event.customer_id)


class _Ownership(ConsumerRebalanceListener):
    def __init__(self, processor: EventProcessor) -> None:
        self.processor = processor

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.processor.owners.forget()  # a rebalance started: owners unknown until assigned
        await self.processor.revoke({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.processor.assign({tp.partition for tp in assigned})


class EventProcessor:
    """Owns the Kafka clients, the partition stores and the batch loop of one worker."""

    def __init__(
        self,
        *,
        settings: MonitorSettings,
        monitor: Monitor,
        metrics: MonitorMetrics,
        events_topic: str,
        names: Topics,
        on_crash: Callable[[BaseException], Awaitable[None]],
    ) -> None:
        self.settings, self.monitor, self.metrics = settings, monitor, metrics
        self.counters = BatchCounters(metrics=metrics)
        self.events_topic, self.names = events_topic, names
        self.on_crash = on_crash
        self.bootstrap = settings.common.kafka_bootstrap
        self.faults = FaultPoints(settings.fault_kill_at, pause=settings.fault_pause_at)
        self.scanner = SilenceScanner(
            monitor=monitor, budget=settings.scan_budget, count=self.counters.alert
        )
        self.watchdog = StallWatchdog(stall_after=settings.stall_after_s)
        # the group's partition -> worker URL table, for state queries of foreign customers
        self.owners = PartitionOwners(url=settings.resolved_advertised_url, topic=events_topic)
        self.model = ModelHook.from_settings(
            settings=settings, monitor=monitor, registry=metrics.registry
        )
        self.stores: dict[int, PartitionStore] = {}  # owned, restored, ready
        self._parked: dict[int, PartitionStore] = {}  # revoked, kept for a quick re-assignment
        self.committed: dict[int, int] = {}
        # EVENTS' (and the changelog's) partition count, read from the broker at start
        self.partitions = CUSTOMER_PARTITIONS
        self.restoring = False
        self.running = False
        self._assigned_at = 0.0  # monotonic end of the latest assignment
        self._lease_s = settings.session_timeout_s - settings.heartbeat_interval_s
        self._lock = asyncio.Lock()  # one batch (or rebalance step) at a time
        self._inflight: asyncio.Task | None = None  # delivery + commit of the batch before
        self._prior: dict[str, CustomerState] = {}  # that batch's states (store write pending)
        self._failure: BaseException | None = None  # a delivery failure met while draining
        self.erasures = Erasures()  # customer.erasure_requested events (worker/erasure.py)
        self._tasks: list[asyncio.Task] = []
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None  # transactions off
        # transactions on: one fenced writer per owned partition (transactions.py)
        self.writers = (
            PartitionWriters(settings=settings, events_topic=events_topic, names=names)
            if settings.transactions
            else None
        )
        self._fenced: set[int] = set()  # partitions whose writer the broker fenced
        self._restorer: AIOKafkaConsumer | None = None
        self.listener = _Ownership(self)  # the group's rebalance callbacks

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        common = s.common
        self.partitions = await changelog.ensure_changelog(
            bootstrap=self.bootstrap,
            topic=self.names.changelog,
            source=self.events_topic,
            common=common,
            replication_of=CHANGELOG,
        )
        if self.names.shadow:  # the shadow model's latest score per customer (compacted)
            await changelog.ensure_changelog(
                bootstrap=self.bootstrap,
                topic=self.names.shadow,
                source=self.events_topic,
                common=common,
                replication_of=CHANGELOG,
            )
        if self.writers is None:
            self.producer = clients.idempotent_producer(settings=s)
            await self.producer.start()
        self._restorer = clients.restorer(settings=s)
        await self._restorer.start()
        self.consumer = clients.events_consumer(settings=s, owners=self.owners)
        self.consumer.subscribe([self.events_topic], listener=self.listener)
        await self.consumer.start()
        self.running = True
        self._tasks = [
            asyncio.create_task(self._supervised(self._run), name="monitor-batches"),
            asyncio.create_task(self._supervised(self._watch), name="monitor-watchdog"),
        ]

    async def _supervised(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Run ``loop``; any error stops the worker (a supervisor restarts it, and the restart
        resumes from the changelog and the committed offsets: nothing half-done is kept)."""
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            log.exception(
                "unhandled_error: the event path failed; stopping the worker", error=repr(exc)
            )
            self.running = False
            await self.on_crash(exc)

    async def stop(self) -> None:
        """Finish the batch in flight, leave the group, flush and close."""
        async with self._lock:
            self.running = False
            try:
                await self._drain()
            except Exception as exc:  # noqa: BLE001 - stopping anyway; a restart redelivers
                log.warning("the batch in flight failed while stopping", error=repr(exc))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for client in (self.consumer, self._restorer, self.producer):
            if client is not None:
                await client.stop()
        if self.writers is not None:
            await self.writers.close_all()
        for store in [*self.stores.values(), *self._parked.values()]:
            store.close()
        self.stores.clear()
        self._parked.clear()

    # --- ownership --------------------------------------------------------------------------

    async def revoke(self, partitions: set[int]) -> None:
        """Partitions leave this worker (``ownership.revoke``)."""
        await ownership.revoke(self, partitions)

    async def assign(self, partitions: set[int]) -> None:
        """Partitions join this worker (``ownership.assign``)."""
        await ownership.assign(self, partitions)

    # --- the batch loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        """Fetch, apply, hand the batch's delivery to a task, repeat: batch N's acknowledgements
        and offset commit are awaited while batch N+1 is fetched and applied (``_apply`` yields
        to the event loop between chunks), and N+1 is delivered only after N is durable."""
        assert self.consumer is not None
        s = self.settings
        poll_ms = int(min(1.0, s.scan_interval_s or 1.0) * 1000)
        next_scan = time.monotonic() + s.scan_interval_s
        while True:
            asked = time.monotonic()
            batch = await self.consumer.getmany(timeout_ms=poll_ms, max_records=s.batch_max_events)
            async with self._lock:
                if not self.running:
                    return
                started = time.perf_counter()
                # a fenced writer, not a timer, stops a paused worker when transactions are on
                work = Work(write_by=self.lease_end(asked) if self.writers is None else inf)
                if batch:
                    await self._apply(batch, work)
                    self.metrics.batch_events.observe(sum(len(r) for r in batch.values()))
                await self._drain()  # the previous batch is durable and committed, or we stop
                if s.scan_interval_s > 0 and time.monotonic() >= next_scan:
                    next_scan = time.monotonic() + s.scan_interval_s
                    published = len(work.snapshots)
                    self.scanner.tick(work, self.stores)  # reads stores: nothing is in flight
                    if len(work.snapshots) > published:  # the timer's, beside the batch's
                        self.metrics.snapshots.inc(len(work.snapshots) - published)
                if self.model is not None and work:
                    self.model.rescore(work)  # one predict call for the batch's customers
                if work:
                    # encoded now (the next batch may change these state objects), yielding
                    await work.encode(every=_YIELD_EVERY)
                    self.erasures.sealed(work, names=self.names)  # erased customers' tombstones
                    self._prior = work.states
                    self._inflight = asyncio.create_task(
                        self._complete(work, started), name="monitor-delivery"
                    )

    async def _drain(self) -> None:
        """Wait for the batch in flight (delivery and offset commit); re-raise its failure, or
        one an ownership change met while draining."""
        task, self._inflight = self._inflight, None
        if task is not None:
            await task
        if self._fenced:
            await ownership.drop_fenced(self)
        if self._failure is not None:
            raise self._failure

    async def _drain_for_ownership(self) -> None:
        """``_drain`` before partitions change hands; a failure is kept for the batch loop, which
        stops the worker with it (raising into the rebalance callback would only be logged)."""
        try:
            await self._drain()
        except Exception as exc:  # noqa: BLE001 - re-raised by the batch loop
            self._failure = exc
        self._prior = {}  # a partition restored or handed over must be read from its store

    def lease_end(self, asked: float) -> float:
        """Until when a batch asked for at ``asked`` (monotonic) may be written: the group holds
        our partitions at least a session timeout past the last heartbeat, which was at most a
        heartbeat interval before we asked, or before an assignment finished if one ran since."""
        return max(asked, self._assigned_at) + self._lease_s

    async def _apply(self, batch: dict[TopicPartition, list[Any]], work: Work) -> None:
        """Apply a fetched batch to ``work`` (``batch.apply_records``), yielding to the event loop
        every ``_YIELD_EVERY`` records so the previous batch's delivery and the fetcher proceed."""
        now = datetime.now(UTC)
        started_ns = time.time_ns()  # the batch's span starts here (when tracing is on)
        monitor, stores = self.monitor, self.stores
        fx = BatchEffects(
            states=work.states,
            dirty=work.dirty,
            snapshots=work.snapshots,
            prior=self._prior,
            reject=work.dead_letter,
            late=_log_late,
            event_ids=work.event_ids if self.faults.armed else None,
            erased=self.erasures.begin(),
            gone=self.erasures.gone,
        )
        source = work.source if self.writers is not None else None
        for tp, records in batch.items():
            partition = tp.partition
            store = stores.get(partition)
            if store is None or not records:
                continue  # no longer ours: the new owner reads them from the committed offset
            marks = len(fx.snapshots), len(fx.fired), len(work.dead_letters)
            for start in range(0, len(records), _YIELD_EVERY):
                apply_records(
                    records,
                    start,
                    min(start + _YIELD_EVERY, len(records)),
                    partition,
                    store,
                    monitor,
                    now,
                    fx,
                )
                await asyncio.sleep(0)
            work.offsets[tp] = records[-1].offset + 1
            if source is not None:  # the customers' records join this partition's transaction
                for item in chain(fx.snapshots[marks[0] :], fx.fired[marks[1] :]):
                    source[item[0]] = partition
                work.dead_sources += [partition] * (len(work.dead_letters) - marks[2])
        for _, alert in fx.fired:
            self.counters.alert(alert)
        # each alert with its firing event's id, ingest time and trace context (lineage.py)
        work.alerts.extend(
            lineage.alert_records(batch=batch, fired=fx.fired, started_ns=started_ns)
        )
        self.scanner.note_applied(work.dirty, work.states)  # silence due times, final states
        self.erasures.applied(work, scanner=self.scanner)
        if source is not None:  # erased customers' tombstones join their partition's transaction
            source.update((c.encode(), p) for c, p in self.erasures.erased.items())
        self.counters.record(fx)

    async def _complete(self, work: Work, started: float) -> None:
        if self.faults.armed:
            await self.faults.reach_any("before_delivery", work.event_ids)
        if self.writers is not None:
            committed, fenced = await self.writers.deliver(
                work, partitions=self.partitions, stores=self.stores, faults=self.faults
            )
            self._fenced |= fenced  # dropped by ``_drain``, when no batch is being applied
            for tp, off in committed.items():
                self.committed[tp.partition] = off
            self.metrics.batch_seconds.observe(time.perf_counter() - started)
            return
        assert self.producer is not None and self.consumer is not None
        await deliver(
            work, producer=self.producer, names=self.names, stores=self.stores, faults=self.faults
        )
        offsets = {tp: off for tp, off in work.offsets.items() if tp.partition in self.stores}
        if offsets:
            try:
                await self.consumer.commit(offsets)
            except CommitFailedError as exc:  # the group moved on: the new owner redelivers
                log.warning("offset commit refused after a rebalance", error=str(exc))
                return
            for tp, off in offsets.items():
                self.committed[tp.partition] = off
        self.metrics.batch_seconds.observe(time.perf_counter() - started)

    # --- stall watchdog ---------------------------------------------------------------------

    async def _watch(self) -> None:
        assert self.consumer is not None
        while True:
            await asyncio.sleep(self.settings.watchdog_interval_s)
            owned = [TopicPartition(self.events_topic, p) for p in sorted(self.stores)]
            if not owned or self.restoring:
                continue
            try:
                ends = await self.consumer.end_offsets(owned)
            except KafkaError as exc:
                log.warning("watchdog could not read end offsets", error=str(exc))
                continue
            for tp in owned:  # never committed by us yet: what the group has, if anything
                if tp.partition not in self.committed:
                    position = await self.consumer.committed(tp)
                    self.committed[tp.partition] = position or 0  # ask once per assignment
            stalled = self.watchdog.check(
                ends={tp.partition: end for tp, end in ends.items() if tp.partition in self.stores},
                committed=self.committed,
            )
            self.metrics.stalled.set(len(stalled))
