"""Move the monitor's state to a namespace with another customer partition count, losing nothing.

    python -m churnwatch_state_monitor.repartition --from-namespace churnwatch \\
        --to-namespace churnwatch-p16 --to-partitions 16 [--bootstrap ...] [--dry-run]

Why a new namespace: every customer-keyed topic and the state changelog share one partition
count (co-partitioning, see README "Topics"), and adding partitions to a live topic moves
customers to other partitions while their history stays on the old ones. The events are kept only
30 days, so the state cannot be rebuilt from them: it is re-keyed from the changelog instead.

The procedure (README "Operating in production"):
1. create the new namespace's topics: ``deploy/kafka/create_topics.py --namespace NEW
   --customer-partitions 16``;
2. stop ingest (producers retry on connection errors and 503s, as the ingest contract asks) and
   any producer writing the old namespace; let the old workers apply the old events topic to its
   end, then stop them (and the alerts service);
3. run this tool: it refuses while the old group has members or unapplied events, then copies
   the latest record per key of the old changelog (state ``off`` reset: it is an offset of the
   old topic), the snapshots and the account owners to NEW, each record on
   ``partition_of_key(key, count)`` (the shared co-partitioning function), and reads every
   target back to check that no customer was lost or changed;
4. start ingest, the workers and the alerts service with ``CHURNWATCH_TOPIC_NAMESPACE=NEW``:
   the workers restore the copied state and apply the new events on top.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.partitioning import partition_of_key
from churnwatch_shared.settings import CommonSettings
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.worker.changelog import (
    changelog_topic,
    ensure_changelog,
    topic_partitions,
)

_SEND_WINDOW = 20_000  # records in flight before their acknowledgements are awaited


class MigrationRefused(RuntimeError):
    """A precondition of a lossless migration does not hold (the message says which and why)."""


@dataclass
class Copied:
    """What one topic's copy moved."""

    source: str
    target: str
    keys: int = 0
    per_partition: dict[int, int] = field(default_factory=dict)


def reset_offset(value: bytes) -> bytes:
    """A state record for the new topics: the applied-offset mark belonged to the old partition."""
    state = CustomerState.decode(value)
    state.off = -1
    return state.encode()


async def read_latest(
    *, bootstrap: str, common: CommonSettings, topic: str, partitions: int
) -> dict[bytes, bytes]:
    """The latest value per key of ``topic`` up to its current end (a tombstone deletes)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **client_kwargs(common),
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 << 20,
        isolation_level="read_committed",  # the monitor writes in transactions
    )
    await consumer.start()
    latest: dict[bytes, bytes] = {}
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=10_000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= ends[tp] or r.key is None:
                        continue
                    if r.value is None:
                        latest.pop(r.key, None)
                    else:
                        latest[r.key] = r.value
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return latest


async def check_source_settled(
    *, admin: AIOKafkaAdminClient, bootstrap: str, common: CommonSettings, group: str, events: str
) -> None:
    """Refuse while the old group has members or has not committed the events topic's end."""
    for response in await admin.describe_consumer_groups([group]):
        for described in response.to_object()["groups"]:
            if described["members"]:
                raise MigrationRefused(
                    f"consumer group {group!r} still has {len(described['members'])} member(s) "
                    f"(state {described['state']}): stop the old workers first"
                )
    committed = await admin.list_consumer_group_offsets(group)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **client_kwargs(common))
    await consumer.start()
    try:
        count = await topic_partitions(admin=admin, topic=events)
        if count is None:
            raise MigrationRefused(f"source events topic {events!r} does not exist")
        tps = [TopicPartition(events, p) for p in range(count)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    behind = {
        tp.partition: ends[tp] - (committed[tp].offset if tp in committed else 0)
        for tp in tps
        if ends[tp] > (committed[tp].offset if tp in committed else 0)
    }
    if behind:
        raise MigrationRefused(
            f"group {group!r} has not applied {sum(behind.values())} event(s) of {events!r} "
            f"(partition: unapplied {behind}); their effects would be lost. Let the old workers "
            "reach the end (producers already pointed at the new namespace), stop them, retry"
        )


async def copy_latest(
    *,
    producer: AIOKafkaProducer,
    latest: dict[bytes, bytes],
    source: str,
    target: str,
    partitions: int,
) -> Copied:
    """Write every (key, value) to ``target`` on the partition the shared partitioner gives."""
    copied = Copied(source=source, target=target)
    futures: list[asyncio.Future] = []
    for key, value in latest.items():
        partition = partition_of_key(key=key, partitions=partitions)
        futures.append(await producer.send(target, key=key, value=value, partition=partition))
        copied.per_partition[partition] = copied.per_partition.get(partition, 0) + 1
        if len(futures) >= _SEND_WINDOW:
            await asyncio.gather(*futures)
            futures.clear()
    await asyncio.gather(*futures)
    copied.keys = len(latest)
    return copied


@dataclass(frozen=True)
class Plan:
    """Source and target names of one migration."""

    bootstrap: str
    from_namespace: str
    to_namespace: str
    to_partitions: int
    from_app_id: str
    to_app_id: str


async def migrate(*, plan: Plan, common: CommonSettings, dry_run: bool = False) -> list[Copied]:
    """Check the preconditions, copy state, snapshots and account owners, verify; see module doc."""
    if plan.from_namespace == plan.to_namespace:
        raise MigrationRefused("--to-namespace must differ from --from-namespace")
    src_events = topics.EVENTS.name(plan.from_namespace)
    dst_events = topics.EVENTS.name(plan.to_namespace)
    admin = AIOKafkaAdminClient(bootstrap_servers=plan.bootstrap, **client_kwargs(common))
    await admin.start()
    try:
        await check_source_settled(
            admin=admin,
            bootstrap=plan.bootstrap,
            common=common,
            group=plan.from_app_id,
            events=src_events,
        )
        found = await topic_partitions(admin=admin, topic=dst_events)
        if found != plan.to_partitions:
            raise MigrationRefused(
                f"target events topic {dst_events!r} has {found or 'no'} partitions, "
                f"expected {plan.to_partitions}: create the target namespace first "
                f"(deploy/kafka/create_topics.py --namespace {plan.to_namespace} "
                f"--customer-partitions {plan.to_partitions})"
            )
    finally:
        await admin.close()
    pairs = [
        (changelog_topic(plan.from_app_id), changelog_topic(plan.to_app_id), True),
        (
            topics.CUSTOMER_STATE.name(plan.from_namespace),
            topics.CUSTOMER_STATE.name(plan.to_namespace),
            False,
        ),
        (
            topics.ACCOUNT_OWNERS.name(plan.from_namespace),
            topics.ACCOUNT_OWNERS.name(plan.to_namespace),
            False,
        ),
    ]
    await ensure_changelog(
        bootstrap=plan.bootstrap, topic=pairs[0][1], source=dst_events, common=common
    )
    wanted: list[tuple[str, str, dict[bytes, bytes], int]] = []
    admin = AIOKafkaAdminClient(bootstrap_servers=plan.bootstrap, **client_kwargs(common))
    await admin.start()
    try:
        for source, target, is_state in pairs:
            count = await topic_partitions(admin=admin, topic=target)
            if count is None:
                raise MigrationRefused(f"target topic {target!r} does not exist")
            present = await read_latest(
                bootstrap=plan.bootstrap, common=common, topic=target, partitions=count
            )
            source_count = await topic_partitions(admin=admin, topic=source)
            latest = (
                {}
                if source_count is None  # e.g. no worker ever ran: nothing to move
                else await read_latest(
                    bootstrap=plan.bootstrap, common=common, topic=source, partitions=source_count
                )
            )
            if is_state:
                if present:
                    raise MigrationRefused(
                        f"target {target!r} already holds state: migrate into a fresh namespace "
                        "(and start no worker on it before the copy)"
                    )
                latest = {k: reset_offset(v) for k, v in latest.items()}
            else:  # a record the new namespace already has is newer than the old one
                latest = {k: v for k, v in latest.items() if k not in present}
            wanted.append((source, target, latest, count))
    finally:
        await admin.close()
    if dry_run:
        return [Copied(source=s, target=t, keys=len(latest)) for s, t, latest, _ in wanted]
    producer = AIOKafkaProducer(
        bootstrap_servers=plan.bootstrap,
        **client_kwargs(common),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    try:
        done = [
            await copy_latest(
                producer=producer, latest=latest, source=s, target=t, partitions=count
            )
            for s, t, latest, count in wanted
        ]
    finally:
        await producer.stop()
    for (_, target, latest, count), (_, _, is_state) in zip(wanted, pairs, strict=True):
        # read back: nothing lost; the state exactly (nothing else writes it before the workers
        # start), the others at least every key (ingest may already write there)
        back = await read_latest(
            bootstrap=plan.bootstrap, common=common, topic=target, partitions=count
        )
        if (back != latest) if is_state else (latest.keys() - back.keys()):
            raise RuntimeError(f"verification failed: {target!r} differs from what was copied")
    return done


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; exit code 2 when a precondition refuses the migration."""
    common = CommonSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=common.kafka_bootstrap)
    parser.add_argument("--from-namespace", required=True)
    parser.add_argument("--to-namespace", required=True)
    parser.add_argument("--to-partitions", type=int, required=True)
    parser.add_argument("--from-app-id", help='default "{from-namespace}-state-monitor"')
    parser.add_argument("--to-app-id", help='default "{to-namespace}-state-monitor"')
    parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    args = parser.parse_args(argv)
    if args.to_partitions < 1:
        parser.error("--to-partitions must be at least 1")
    plan = Plan(
        bootstrap=args.bootstrap,
        from_namespace=args.from_namespace,
        to_namespace=args.to_namespace,
        to_partitions=args.to_partitions,
        from_app_id=args.from_app_id or f"{args.from_namespace}-state-monitor",
        to_app_id=args.to_app_id or f"{args.to_namespace}-state-monitor",
    )
    try:
        done = asyncio.run(migrate(plan=plan, common=common, dry_run=args.dry_run))
    except MigrationRefused as refused:
        print(f"[repartition] refused: {refused}", file=sys.stderr)
        return 2
    for copied in done:
        spread = f" over {len(copied.per_partition)} partitions" if copied.per_partition else ""
        verb = "would copy" if args.dry_run else "copied"
        print(f"[repartition] {verb} {copied.keys} keys {copied.source} -> {copied.target}{spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
