"""The customer-state changelog: a compacted topic co-partitioned with EVENTS.

The record of a customer whose events arrive on EVENTS partition *p* is written to changelog
partition *p* (key ``customer_id``, value the encoded ``CustomerState``), so a worker assigned *p*
restores exactly the customers it will see. The topic is named
``{app_id}-customer-state-changelog`` (the name faust-streaming gave the table this replaced, so
an existing deployment keeps its state).
"""

from __future__ import annotations

import asyncio
import time

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.kafka_topology import CHANGELOG
from churnwatch_shared.settings import CommonSettings
from churnwatch_state_monitor.worker.store import PartitionStore

log = structlog.get_logger("churnwatch.state_monitor.changelog")

RESTORE_BATCH = 10_000  # records per getmany while restoring


def changelog_topic(app_id: str) -> str:
    return f"{app_id}-customer-state-changelog"


async def topic_partitions(*, admin: AIOKafkaAdminClient, topic: str) -> int | None:
    """How many partitions ``topic`` has; None when it does not exist."""
    for described in await admin.describe_topics([topic]):
        if described.get("topic") == topic and not described.get("error_code"):
            return len(described["partitions"])
    return None


async def ensure_changelog(
    *,
    bootstrap: str,
    topic: str,
    source: str | None = None,
    partitions: int | None = None,
    common: CommonSettings | None = None,
    replication_of: str = CHANGELOG,
) -> int:
    """Create the compacted ``topic`` with as many partitions as ``source`` has (or
    ``partitions``), or check that an existing one has that many; returns the count.

    Co-partitioning is what keeps each customer's state beside its events, so a mismatch (the
    events topic was recreated with another count) stops the worker instead of mixing states.
    """
    common = common or CommonSettings()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs(common))
    await admin.start()
    try:
        if source is not None:
            partitions = await topic_partitions(admin=admin, topic=source)
            if partitions is None:
                raise RuntimeError(
                    f"source topic {source!r} does not exist; create the topics first "
                    "(deploy/kafka/create_topics.py)"
                )
        if partitions is None:
            raise ValueError("ensure_changelog needs a source topic or a partition count")
        replication = common.replication(replication_of)
        response = await admin.create_topics(
            [
                NewTopic(
                    name=topic,
                    num_partitions=partitions,
                    replication_factor=replication,
                    topic_configs=common.topic_configs(
                        replication_of, {"cleanup.policy": "compact"}
                    ),
                )
            ]
        )
        # aiokafka answers with per-topic error codes instead of raising
        error = next(e for e in response.to_object()["topic_errors"] if e["topic"] == topic)
        if error["error_code"] == 0:
            log.info("changelog topic created", topic=topic, partitions=partitions)
        elif error["error_code"] == TopicAlreadyExistsError.errno:
            # it existed (or another worker created it meanwhile): it must have the same count
            existing = None
            for _ in range(50):  # a just-created topic takes a moment to show in metadata
                existing = await topic_partitions(admin=admin, topic=topic)
                if existing is not None:
                    break
                await asyncio.sleep(0.1)
            if existing != partitions:
                raise RuntimeError(
                    f"{topic!r} has {existing} partitions but {source or 'the source'!r} has "
                    f"{partitions}: state would not be co-partitioned with its events; "
                    "migrate it with python -m churnwatch_state_monitor.repartition"
                )
        else:
            raise RuntimeError(
                f"creating {topic!r} failed: Kafka error {error['error_code']} "
                f"({error.get('error_message')})"
            )
        return partitions
    finally:
        await admin.close()


async def restore(
    consumer: AIOKafkaConsumer, *, topic: str, stores: dict[int, PartitionStore]
) -> int:
    """Bring each store up to its changelog partition's current end; returns records read.

    ``consumer`` is a group-less consumer used only for restoring. A store that claims to be
    ahead of the partition's end, or behind its start (the topic was recreated or truncated), is
    wiped and rebuilt from the start.
    """
    if not stores:
        return 0
    started = time.perf_counter()
    tps = {TopicPartition(topic, p): store for p, store in stores.items()}
    consumer.assign(list(tps))
    ends = await consumer.end_offsets(list(tps))
    starts = await consumer.beginning_offsets(list(tps))
    pending: dict[TopicPartition, int] = {}
    for tp, store in tps.items():
        if store.changelog_next > ends[tp] or store.changelog_next < starts[tp]:
            log.warning(
                "local state does not match the changelog; rebuilding",
                partition=tp.partition,
                local=store.changelog_next,
                start=starts[tp],
                end=ends[tp],
            )
            store.wipe()
        if store.changelog_next < ends[tp]:
            consumer.seek(tp, max(store.changelog_next, starts[tp]))
            pending[tp] = ends[tp]
    read = 0
    if pending:
        consumer.pause(*(tp for tp in tps if tp not in pending))
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=RESTORE_BATCH)
        for tp, records in batch.items():
            if tp not in pending:
                continue
            store = tps[tp]
            values = {
                r.key.decode(): r.value
                for r in records
                # a tombstone (an erasure) deletes the key: its older record must not come back
                if r.offset < pending[tp] and r.key is not None
            }
            last = records[-1].offset + 1
            store.write(values, changelog_next=min(last, pending[tp]))
            read += len(records)
            if last >= pending[tp]:
                del pending[tp]
        for tp in [tp for tp in pending if tp not in batch]:
            # offsets may end in a gap (records compacted away): the position tells
            if await consumer.position(tp) >= pending[tp]:
                tps[tp].write({}, changelog_next=pending[tp])
                del pending[tp]
    consumer.assign([])
    log.info(
        "state restored from changelog",
        partitions=sorted(stores),
        records=read,
        seconds=round(time.perf_counter() - started, 3),
    )
    return read
