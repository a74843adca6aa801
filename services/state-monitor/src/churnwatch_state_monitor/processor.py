"""The event path: EVENTS in batches through ``Monitor.process``, effects out in a safe order.

A consumer-group member (group = the app id) reads EVENTS with ``getmany``; each batch is applied
record by record through the one code path the backtest uses (``Monitor.process``), and its
effects are made durable in the order ``work.deliver`` documents: alerts acked, then one state
record per changed customer on the changelog, then snapshots, then the source offsets committed.

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
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError

from churnwatch_shared.events import parse_event
from churnwatch_shared.topics import CUSTOMER_PARTITIONS

from churnwatch_state_monitor import changelog
from churnwatch_state_monitor.engine import Monitor, Status
from churnwatch_state_monitor.faults import FaultPoints
from churnwatch_state_monitor.metrics import MonitorMetrics
from churnwatch_state_monitor.settings import MonitorSettings
from churnwatch_state_monitor.silence_scan import SilenceScanner
from churnwatch_state_monitor.state import CustomerState
from churnwatch_state_monitor.store import PartitionStore, open_store
from churnwatch_state_monitor.watchdog import StallWatchdog
from churnwatch_state_monitor.work import Topics, Work, deliver

log = structlog.get_logger("churnwatch.state_monitor")


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
    where = ".".join(str(p) for p in first["loc"]) or "(record)"
    return f"invalid event at {where}: {first['msg']}"


class _Ownership(ConsumerRebalanceListener):
    def __init__(self, processor: EventProcessor) -> None:
        self.processor = processor

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.processor.revoke({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.processor.assign({tp.partition for tp in assigned})


class EventProcessor:
    """Owns the Kafka clients, the partition stores and the batch loop of one worker."""

    def __init__(self, *, settings: MonitorSettings, monitor: Monitor, metrics: MonitorMetrics,
                 events_topic: str, names: Topics,
                 on_crash: Callable[[BaseException], Awaitable[None]]) -> None:
        self.settings, self.monitor, self.metrics = settings, monitor, metrics
        self.events_topic, self.names = events_topic, names
        self.on_crash = on_crash
        self.bootstrap = settings.common.kafka_bootstrap
        self.faults = FaultPoints(settings.fault_kill_at)
        self.scanner = SilenceScanner(monitor=monitor, budget=settings.scan_budget)
        self.watchdog = StallWatchdog(stall_after=settings.stall_after_s)
        self.stores: dict[int, PartitionStore] = {}  # owned, restored, ready
        self._parked: dict[int, PartitionStore] = {}  # revoked, kept for a quick re-assignment
        self.committed: dict[int, int] = {}
        self.restoring = False
        self.running = False
        self._assigned_at = 0.0  # monotonic end of the latest assignment
        self._lease_s = settings.session_timeout_s - settings.heartbeat_interval_s
        self._lock = asyncio.Lock()  # one batch (or rebalance step) at a time
        self._alert_counters: dict[tuple[str, str], Any] = {}
        self._tasks: list[asyncio.Task] = []
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self._restorer: AIOKafkaConsumer | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        await changelog.ensure_changelog(bootstrap=self.bootstrap, topic=self.names.changelog,
                                         partitions=CUSTOMER_PARTITIONS)
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
            linger_ms=int(s.producer_linger_s * 1000), max_batch_size=512 * 1024)
        await self.producer.start()
        self._restorer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False,
            max_partition_fetch_bytes=8 << 20)
        await self._restorer.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=s.resolved_app_id,
            client_id=f"{s.resolved_app_id}-events", group_instance_id=s.instance_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest", fetch_max_wait_ms=s.fetch_max_wait_ms,
            max_partition_fetch_bytes=4 << 20,
            session_timeout_ms=int(s.session_timeout_s * 1000),
            heartbeat_interval_ms=int(s.heartbeat_interval_s * 1000))
        self.consumer.subscribe([self.events_topic], listener=_Ownership(self))
        await self.consumer.start()
        self.running = True
        self._tasks = [asyncio.create_task(self._supervised(self._run), name="monitor-batches"),
                       asyncio.create_task(self._supervised(self._watch), name="monitor-watchdog")]

    async def _supervised(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Run ``loop``; any error stops the worker (a supervisor restarts it, and the restart
        resumes from the changelog and the committed offsets: nothing half-done is kept)."""
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - reported, then the worker stops
            log.error("unhandled_error: the event path failed; stopping the worker",
                      error=repr(exc), exc_info=True)
            self.running = False
            await self.on_crash(exc)

    async def stop(self) -> None:
        """Finish the batch in flight, leave the group, flush and close."""
        async with self._lock:
            self.running = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for client in (self.consumer, self._restorer, self.producer):
            if client is not None:
                await client.stop()
        for store in [*self.stores.values(), *self._parked.values()]:
            store.close()
        self.stores.clear()
        self._parked.clear()

    # --- ownership --------------------------------------------------------------------------

    async def revoke(self, partitions: set[int]) -> None:
        async with self._lock:
            for partition in partitions:
                store = self.stores.pop(partition, None)
                self.scanner.drop(partition)
                self.committed.pop(partition, None)
                if store is not None:
                    self._parked[partition] = store
            self.watchdog.reset()
        log.info("partitions revoked", partitions=sorted(partitions))

    async def assign(self, partitions: set[int]) -> None:
        assert self._restorer is not None and self.consumer is not None
        self.restoring = True
        try:
            async with self._lock:
                gained: dict[int, PartitionStore] = {}
                for partition in partitions - set(self.stores):
                    store = self._parked.pop(partition, None)  # (an empty store is falsy)
                    if store is None:
                        store = open_store(self.settings.store, partition=partition,
                                           data_dir=self.settings.data_dir,
                                           app_id=self.settings.resolved_app_id)
                    gained[partition] = store
                for store in self._parked.values():  # not ours any more
                    store.close()
                self._parked.clear()
                with self.metrics.restore_seconds.time():
                    await changelog.restore(self._restorer, topic=self.names.changelog,
                                            stores=gained)
                for partition, store in gained.items():
                    await self.scanner.build(partition, store)
                self.stores.update(gained)
                self.watchdog.reset()
                self._assigned_at = time.monotonic()
        finally:
            self.restoring = False
        log.info("partitions assigned", partitions=sorted(partitions))

    # --- the batch loop ---------------------------------------------------------------------

    async def _run(self) -> None:
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
                work = Work(write_by=self.lease_end(asked))
                if batch:
                    self._apply(batch, work)
                    self.metrics.batch_events.observe(sum(len(r) for r in batch.values()))
                if s.scan_interval_s > 0 and time.monotonic() >= next_scan:
                    next_scan = time.monotonic() + s.scan_interval_s
                    self.scanner.tick(work, self.stores)
                if work:
                    await self._complete(work)
                    self.metrics.batch_seconds.observe(time.perf_counter() - started)

    def lease_end(self, asked: float) -> float:
        """Until when a batch asked for at ``asked`` (monotonic) may be written: the group holds
        our partitions at least a session timeout past the last heartbeat, which was at most a
        heartbeat interval before we asked, or before an assignment finished if one ran since."""
        return max(asked, self._assigned_at) + self._lease_s

    def _apply(self, batch: dict[TopicPartition, list[Any]], work: Work) -> None:
        now = datetime.now(UTC)
        monitor, stores = self.monitor, self.stores
        process, decode = monitor.process, CustomerState.decode
        states, dirty, snapshots = work.states, work.dirty, work.snapshots
        armed = self.faults.armed
        tally = dict.fromkeys((*Status, "invalid", "snapshots"), 0)  # counted once per batch
        for tp, records in batch.items():
            partition = tp.partition
            store = stores.get(partition)
            if store is None or not records:
                continue  # no longer ours: the new owner reads them from the committed offset
            for record in records:
                try:
                    event = parse_event(record.value)
                except ValidationError as exc:
                    tally["invalid"] += 1
                    work.dead_letter(record, _reason(exc))
                    continue
                except (TypeError, ValueError) as exc:  # not JSON at all, or no value
                    tally["invalid"] += 1
                    work.dead_letter(record, f"undecodable record: {type(exc).__name__}")
                    continue
                customer_id = event.customer_id
                key = customer_id.encode()
                if record.key is not None and record.key != key:
                    # a record keyed by something else sits on another customer's partition
                    tally["invalid"] += 1
                    work.dead_letter(record, "record key does not match customer_id")
                    continue
                state = states.get(customer_id)
                if state is None:
                    raw = store.get(customer_id)
                    state = decode(raw) if raw is not None else None
                outcome = process(state, event, now=now, offset=record.offset)
                status = outcome.status
                tally[status] += 1
                if status is Status.APPLIED:
                    states[customer_id] = outcome.state
                    dirty[customer_id] = partition
                    if outcome.alerts:
                        for alert in outcome.alerts:
                            self._count(alert)
                            work.alerts.append((key, alert.model_dump_json().encode()))
                    if outcome.snapshot is not None:
                        tally["snapshots"] += 1
                        snapshots.append((key, outcome.snapshot))
                    if armed:
                        work.event_ids.append(event.event_id)
                elif status is Status.REDELIVERED:
                    # already in the restored state (its alerts were acked before that state was
                    # written); re-publish the snapshot, which may have been lost
                    states[customer_id] = outcome.state
                    snapshots.append((key, monitor.snapshot_bytes(customer_id, outcome.state)))
                elif status is Status.LATE:
                    log.warning("late event not merged", event_id=event.event_id,
                                customer_id=customer_id)
            work.offsets[tp] = records[-1].offset + 1
        self.scanner.note_applied(dirty, states)  # silence due times from the final states
        self._record(tally)

    def _record(self, tally: dict) -> None:
        """One increment per counter and batch (a Prometheus increment takes a lock)."""
        m = self.metrics
        for counter, key in ((m.applied, Status.APPLIED), (m.duplicate, Status.DUPLICATE),
                             (m.redelivered, Status.REDELIVERED), (m.late, Status.LATE),
                             (m.invalid, "invalid"), (m.snapshots, "snapshots")):
            if tally[key]:
                counter.inc(tally[key])

    def _count(self, alert: Any) -> None:
        counter = self._alert_counters.get((alert.rule_id, alert.severity))
        if counter is None:
            counter = self.metrics.alerts.labels(rule_id=alert.rule_id,
                                                 severity=alert.severity.value)
            self._alert_counters[(alert.rule_id, alert.severity)] = counter
        counter.inc()

    async def _complete(self, work: Work) -> None:
        assert self.producer is not None and self.consumer is not None
        await deliver(work, producer=self.producer, names=self.names, stores=self.stores,
                      faults=self.faults)
        offsets = {tp: off for tp, off in work.offsets.items() if tp.partition in self.stores}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except CommitFailedError as exc:  # the group moved on: the new owner redelivers
            log.warning("offset commit refused after a rebalance", error=str(exc))
            return
        for tp, off in offsets.items():
            self.committed[tp.partition] = off

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
                committed=self.committed)
            self.metrics.stalled.set(len(stalled))
