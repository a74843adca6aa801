"""Create ChurnWatch's topics (idempotent): names from churnwatch_shared.topics, layout from settings.

    python deploy/kafka/create_topics.py [--bootstrap 127.0.0.1:9092] [--namespace churnwatch]
                                         [--customer-partitions 8]

Defaults come from CHURNWATCH_KAFKA_BOOTSTRAP, CHURNWATCH_TOPIC_NAMESPACE and the topic layout
settings (CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS, _REPLICATION_FACTOR, _MIN_INSYNC_REPLICAS, ...),
like the services; the Kafka security settings (CHURNWATCH_KAFKA_SECURITY_PROTOCOL, ...) too.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from churnwatch_shared import topics
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.settings import CommonSettings


async def create_topics(
    *,
    bootstrap: str,
    namespace: str,
    attempts: int = 30,
    common: CommonSettings | None = None,
) -> list[str]:
    """Create every missing topic; returns the names created (empty when all existed).

    ``common`` gives the layout and the Kafka security (default: read from the environment).
    """
    common = common or CommonSettings()
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="churnwatch-topic-admin", **client_kwargs(common)
    )
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
                num_partitions=common.partitions(spec),
                replication_factor=common.replication(spec.suffix),
                topic_configs=common.topic_configs(spec.suffix, dict(spec.configs)),
            )
            for spec in topics.ALL_TOPICS
            if spec.name(namespace) not in existing
        ]
        if wanted:
            response = await admin.create_topics(wanted)
            # aiokafka reports refusals as per-topic error codes, not exceptions
            refused = [
                f"{e['topic']}: {e['error_message'] or e['error_code']}"
                for e in response.to_object()["topic_errors"]
                if e["error_code"] not in (0, TopicAlreadyExistsError.errno)
            ]
            if refused:
                raise RuntimeError("the broker refused to create " + "; ".join(refused))
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def delete_namespaces(*, bootstrap: str, namespaces: set[str]) -> int:
    """Delete every topic whose name starts with one of ``namespaces``; returns how many."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
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
    parser.add_argument(
        "--customer-partitions",
        type=int,
        default=common.kafka_customer_partitions,
        help="partitions of the customer-keyed topics (default CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS)",
    )
    args = parser.parse_args()
    if args.customer_partitions < 1:
        parser.error("--customer-partitions must be at least 1")
    layout = common.model_copy(update={"kafka_customer_partitions": args.customer_partitions})
    created = asyncio.run(
        create_topics(bootstrap=args.bootstrap, namespace=args.namespace, common=layout)
    )
    print(f"[topics] {len(created)} created under {args.namespace!r}: {', '.join(created) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
