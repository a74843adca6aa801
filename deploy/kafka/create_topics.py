"""Create ChurnWatch's topics (idempotent): names and partition counts from churnwatch_shared.topics.

    python deploy/kafka/create_topics.py [--bootstrap 127.0.0.1:9092] [--namespace churnwatch]

Defaults come from CHURNWATCH_KAFKA_BOOTSTRAP and CHURNWATCH_TOPIC_NAMESPACE, like the services.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError

from churnwatch_shared import topics
from churnwatch_shared.settings import CommonSettings


async def create_topics(*, bootstrap: str, namespace: str, attempts: int = 30) -> list[str]:
    """Create every missing topic; returns the names created (empty when all existed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="churnwatch-topic-admin")
    for attempt in range(attempts):
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=spec.name(namespace),
                num_partitions=spec.partitions,
                replication_factor=1,
                topic_configs=dict(spec.configs),
            )
            for spec in topics.ALL_TOPICS
            if spec.name(namespace) not in existing
        ]
        if wanted:
            await admin.create_topics(wanted)
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def delete_namespaces(*, bootstrap: str, namespaces: set[str]) -> int:
    """Delete every topic whose name starts with one of ``namespaces``; returns how many."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        doomed = [
            t for t in await admin.list_topics() if any(t.startswith(ns) for ns in namespaces)
        ]
        for start in range(0, len(doomed), 200):
            await admin.delete_topics(doomed[start : start + 200])
        return len(doomed)
    finally:
        await admin.close()


def main() -> int:
    common = CommonSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=common.kafka_bootstrap)
    parser.add_argument("--namespace", default=common.topic_namespace)
    args = parser.parse_args()
    created = asyncio.run(create_topics(bootstrap=args.bootstrap, namespace=args.namespace))
    print(f"[topics] {len(created)} created under {args.namespace!r}: {', '.join(created) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
