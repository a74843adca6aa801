"""Partition ownership of one worker: what happens when the consumer group moves partitions.

- revoked: the batch in flight finishes (acks, commit) while the partitions are still ours, then
  their stores are parked (reused on a quick re-assignment) and their writers stopped;
- assigned: a parked store is reused or one opened; with transactions the partitions' writers are
  started first (which fences every earlier writer of them, see transactions.py), then the stores
  are brought up to the changelog's end (``changelog.restore``, read_committed) and their silence
  indexes built; only then are their records processed;
- fenced: a partition whose writer the broker refused is dropped here (``drop_fenced``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import structlog
from aiokafka import TopicPartition

from churnwatch_state_monitor.worker import changelog
from churnwatch_state_monitor.worker.store import PartitionStore, open_store

if TYPE_CHECKING:
    from churnwatch_state_monitor.worker.processor import EventProcessor

log = structlog.get_logger("churnwatch.state_monitor")


async def revoke(processor: EventProcessor, partitions: set[int]) -> None:
    """The batch in flight completes, then the partitions' stores are parked and writers stopped."""
    async with processor._lock:
        await processor._drain_for_ownership()  # the batch in flight commits while still ours
        for partition in partitions:
            store = processor.stores.pop(partition, None)
            processor.scanner.drop(partition)
            processor.committed.pop(partition, None)
            if store is not None:
                processor._parked[partition] = store
        if processor.writers is not None:
            await processor.writers.close(partitions)
        processor.watchdog.reset()
    log.info("partitions revoked", partitions=sorted(partitions))


async def assign(processor: EventProcessor, partitions: set[int]) -> None:
    """Writers started (fencing earlier ones), stores restored and indexed, then the partitions
    are processed."""
    assert processor._restorer is not None and processor.consumer is not None
    processor.restoring = True
    try:
        async with processor._lock:
            await processor._drain_for_ownership()
            gained: dict[int, PartitionStore] = {}
            for partition in partitions - set(processor.stores):
                store = processor._parked.pop(partition, None)  # (an empty store is falsy)
                if store is None:
                    store = open_store(
                        processor.settings.store,
                        partition=partition,
                        data_dir=processor.settings.data_dir,
                        app_id=processor.settings.resolved_app_id,
                    )
                gained[partition] = store
            for store in processor._parked.values():  # not ours any more
                store.close()
            processor._parked.clear()
            if processor.writers is not None:
                try:  # fences every earlier writer before the changelog is read
                    await processor.writers.open(gained)
                except Exception as exc:  # noqa: BLE001 - the batch loop stops the worker
                    processor._failure = exc
                    for store in gained.values():
                        store.close()
                    return
            with processor.metrics.restore_seconds.time():
                await changelog.restore(
                    processor._restorer, topic=processor.names.changelog, stores=gained
                )
            for partition, store in gained.items():
                await processor.scanner.build(partition, store)
            processor.stores.update(gained)
            processor.watchdog.reset()
            processor._assigned_at = time.monotonic()
    finally:
        processor.restoring = False
    log.info("partitions assigned", partitions=sorted(partitions))


async def drop_fenced(processor: EventProcessor) -> None:
    """Forget the partitions another worker's writer took over: their state here may be
    ahead of the committed changelog (a batch applied, never committed). The store keeps
    only committed records, but it is closed too; an assignment restores it afresh."""
    fenced, processor._fenced = sorted(processor._fenced), set()
    assert processor.writers is not None and processor.consumer is not None
    await processor.writers.close(fenced)
    assigned = processor.consumer.assignment()
    for partition in fenced:
        for holder in (processor.stores, processor._parked):
            store = holder.pop(partition, None)
            if store is not None:
                store.close()
        processor.scanner.drop(partition)
        processor.committed.pop(partition, None)
        tp = TopicPartition(processor.events_topic, partition)
        if tp in assigned:  # until the group's next generation reassigns it
            processor.consumer.pause(tp)
        processor.metrics.fenced.inc()
    processor._prior = {}  # may hold the fenced batch's states
    # Ask the group for a new generation at once: a zombie learns it lost the partitions
    # (its heartbeat would tell it soon too); a worker whose own transaction outlived the
    # transaction timeout (the broker aborts it and bumps the epoch: fenced as well) but
    # still owns the partition gets it assigned again, restored from the changelog, instead
    # of leaving it paused. Subscribing again to the same topic is aiokafka's public way: the
    # old subscription ends, so its coordinator rejoins at once (revoking, then assigning
    # through our listener, positions from the committed offsets) as its private
    # request_rejoin() would.
    processor.consumer.subscribe([processor.events_topic], listener=processor.listener)
    log.warning(
        "partitions fenced: another worker writes them now; their state here is dropped "
        "and their records are skipped until the group assigns them again (rejoining)",
        partitions=fenced,
    )
