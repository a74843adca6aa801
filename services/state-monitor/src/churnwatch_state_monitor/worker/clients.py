"""The Kafka clients of one worker's event path, with the settings that bound its latency.

- the events consumer: a consumer-group member (static membership id, the owner table's
  assignor) that reads EVENTS; a fetch returns as soon as records arrive, so
  ``fetch_max_wait_ms`` only bounds an idle fetch (the fetcher keeps one in flight per broker);
- the restorer: a group-less ``read_committed`` consumer that brings a partition's store up to
  its changelog's end, never reading an aborted (fenced) writer's records;
- with transactions off, the idempotent producer (acks=all) of alerts, state and snapshots; with
  them on, each partition's transactional producer is made by ``transactions.PartitionWriters``.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_state_monitor.worker.owners import PartitionOwners, assignment_strategy
from churnwatch_state_monitor.worker.settings import MonitorSettings


def events_consumer(*, settings: MonitorSettings, owners: PartitionOwners) -> AIOKafkaConsumer:
    """The worker's consumer-group member on EVENTS (not yet subscribed or started)."""
    s = settings
    return AIOKafkaConsumer(
        bootstrap_servers=s.common.kafka_bootstrap,
        **client_kwargs(s.common),
        group_id=s.resolved_app_id,
        client_id=f"{s.resolved_app_id}-events",
        group_instance_id=s.instance_id,
        # round-robin plus the owner table, one protocol (owners.py says why only one)
        partition_assignment_strategy=assignment_strategy(owners),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=s.fetch_max_wait_ms,
        max_partition_fetch_bytes=4 << 20,
        # session, heartbeat, rebalance and the request timeout kept above the rebalance's
        **s.group_timeouts_ms(),
    )


def restorer(*, settings: MonitorSettings) -> AIOKafkaConsumer:
    """The group-less consumer that restores partitions from the changelog."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.common.kafka_bootstrap,
        **client_kwargs(settings.common),
        enable_auto_commit=False,
        isolation_level="read_committed",  # never an aborted (fenced) writer's records
        max_partition_fetch_bytes=8 << 20,
    )


def idempotent_producer(*, settings: MonitorSettings) -> AIOKafkaProducer:
    """The producer of the transactions-off path (``work.deliver``)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.common.kafka_bootstrap,
        **client_kwargs(settings.common),
        acks="all",
        enable_idempotence=True,
        linger_ms=int(settings.producer_linger_s * 1000),
        max_batch_size=512 * 1024,
    )
