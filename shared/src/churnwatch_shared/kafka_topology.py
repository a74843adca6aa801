"""Partition counts, replication factor and ``min.insync.replicas`` of the topics, as settings.

Defaults suit one machine (the counts in ``topics``, replication 1). A cluster sets
``CHURNWATCH_KAFKA_REPLICATION_FACTOR`` (typically 3); ``min.insync.replicas`` then defaults to
``min(2, rf - 1)`` (at least 1), so with the producers' ``acks=all`` (every producer is idempotent,
which needs ``acks=all``) an acknowledged record is on at least two brokers and writes go on while
one broker is down. Every customer-keyed topic and the monitor's changelog share ONE partition
count (``CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS``): the state is co-partitioned with its source, so
changing it on a running system is a migration (``python -m churnwatch_state_monitor.repartition``),
not a setting flip.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings

from churnwatch_shared import topics


class KafkaTopologySettings(BaseSettings):
    """Topic layout settings (mixed into ``CommonSettings``)."""

    kafka_customer_partitions: int = Field(
        default=topics.CUSTOMER_PARTITIONS,
        ge=1,
        le=4096,
        description="partitions of every customer-keyed topic and the monitor's changelog "
        "(one count: co-partitioned); change it on a running system only with the repartition "
        "tool",
    )
    kafka_topic_partitions: dict[str, int] = Field(
        default_factory=dict,
        description="JSON topic suffix -> partitions for the other topics, e.g. "
        '{"events.dlq.v1": 3}',
    )
    kafka_replication_factor: int = Field(
        default=1, ge=1, le=32, description="replication factor of every topic (3 on a cluster)"
    )
    kafka_topic_replication: dict[str, int] = Field(
        default_factory=dict,
        description='JSON topic suffix (or "changelog") -> replication factor overriding '
        "CHURNWATCH_KAFKA_REPLICATION_FACTOR",
    )
    kafka_min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        description="min.insync.replicas of every topic; default min(2, rf - 1), at least 1",
    )

    @model_validator(mode="after")
    def _layout(self) -> KafkaTopologySettings:
        keyed = {spec.suffix for spec in topics.CUSTOMER_KEYED}
        others = sorted({spec.suffix for spec in topics.ALL_TOPICS} - keyed)
        for suffix, count in self.kafka_topic_partitions.items():
            if suffix in keyed:
                raise ValueError(
                    f"CHURNWATCH_KAFKA_TOPIC_PARTITIONS: {suffix!r} is customer-keyed; its count "
                    "is CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS (one count for all of them)"
                )
            if suffix not in others:
                raise ValueError(
                    f"CHURNWATCH_KAFKA_TOPIC_PARTITIONS: unknown topic {suffix!r}; accepted: "
                    + ", ".join(others)
                )
            if not 1 <= count <= 4096:
                raise ValueError(f"CHURNWATCH_KAFKA_TOPIC_PARTITIONS: {suffix!r}: 1..4096")
        known = {spec.suffix for spec in topics.ALL_TOPICS} | {CHANGELOG}
        for suffix, rf in self.kafka_topic_replication.items():
            if suffix not in known:
                raise ValueError(
                    f"CHURNWATCH_KAFKA_TOPIC_REPLICATION: unknown topic {suffix!r}; accepted: "
                    + ", ".join(sorted(known))
                )
            if not 1 <= rf <= 32:
                raise ValueError(f"CHURNWATCH_KAFKA_TOPIC_REPLICATION: {suffix!r}: 1..32")
        lowest = min([self.kafka_replication_factor, *self.kafka_topic_replication.values()])
        if self.kafka_min_insync_replicas is not None and self.kafka_min_insync_replicas > lowest:
            raise ValueError(
                f"CHURNWATCH_KAFKA_MIN_INSYNC_REPLICAS={self.kafka_min_insync_replicas} exceeds "
                f"the lowest replication factor ({lowest}): acks=all writes would always fail"
            )
        return self

    def partitions(self, spec: topics.TopicSpec) -> int:
        """Partition count of ``spec``'s topic."""
        if spec in topics.CUSTOMER_KEYED:
            return self.kafka_customer_partitions
        return self.kafka_topic_partitions.get(spec.suffix, spec.partitions)

    def replication(self, suffix: str) -> int:
        """Replication factor of the topic with ``suffix`` (``"changelog"``: the monitor's)."""
        return self.kafka_topic_replication.get(suffix, self.kafka_replication_factor)

    def min_insync(self, replication: int) -> int:
        """``min.insync.replicas`` for a topic with ``replication`` replicas."""
        if self.kafka_min_insync_replicas is not None:
            return min(self.kafka_min_insync_replicas, replication)
        return max(1, min(2, replication - 1))

    def topic_configs(self, suffix: str, configs: dict[str, str]) -> dict[str, str]:
        """``configs`` plus ``min.insync.replicas`` consistent with the topic's replication."""
        return {**configs, "min.insync.replicas": str(self.min_insync(self.replication(suffix)))}


CHANGELOG = "changelog"  # the monitor's state changelog in CHURNWATCH_KAFKA_TOPIC_REPLICATION
