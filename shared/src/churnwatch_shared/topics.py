"""Kafka topic names and partition counts: the one place every service and deploy script reads."""

from __future__ import annotations

from dataclasses import dataclass

# Every topic keyed by customer_id has the same partition count, so the state monitor's tables are
# co-partitioned with their source and Faust needs no repartition topic.
CUSTOMER_PARTITIONS = 8


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: its suffix under the namespace, partitions and extra broker configs."""

    suffix: str
    partitions: int
    configs: tuple[tuple[str, str], ...] = ()
    description: str = ""

    def name(self, namespace: str) -> str:
        return f"{namespace}.{self.suffix}"


EVENTS = TopicSpec(
    "events.v1",
    CUSTOMER_PARTITIONS,
    (("retention.ms", str(30 * 24 * 3600 * 1000)),),
    "validated events from every producer, keyed by customer_id",
)
EVENTS_RAW = TopicSpec(
    "events.raw.v1",
    CUSTOMER_PARTITIONS,
    (("retention.ms", str(7 * 24 * 3600 * 1000)),),
    "events written straight to Kafka by trusted producers; validated by ingest",
)
DEAD_LETTER = TopicSpec(
    "events.dlq.v1",
    1,
    (("retention.ms", str(90 * 24 * 3600 * 1000)),),
    "records that failed validation, with the reason, original bytes and headers",
)
ALERTS = TopicSpec(
    "alerts.v1",
    CUSTOMER_PARTITIONS,
    (("retention.ms", str(30 * 24 * 3600 * 1000)),),
    "anomaly and churn-risk alerts from the state monitor, keyed by customer_id",
)
CUSTOMER_STATE = TopicSpec(
    "customer-state.v1",
    CUSTOMER_PARTITIONS,
    (("cleanup.policy", "compact"),),
    "latest five-state snapshot per customer (compacted), served by the alerts service",
)

ACCOUNT_OWNERS = TopicSpec(
    "account-owners.v1",
    1,
    (("cleanup.policy", "compact"),),
    "account id -> owning customer id (compacted), kept by the ingest adapters",
)

# The alerts service's own dead letters: records of its intake (alerts, snapshots, customer
# events) it could not decode or the database refused, so one record never blocks the rest.
ALERTS_INTAKE_DEAD_LETTER = TopicSpec(
    "alerts-intake.dlq.v1",
    1,
    (("retention.ms", str(90 * 24 * 3600 * 1000)),),
    "records the alerts intake could not decode or store, with the reason and original bytes",
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    EVENTS,
    EVENTS_RAW,
    DEAD_LETTER,
    ALERTS,
    CUSTOMER_STATE,
    ACCOUNT_OWNERS,
    ALERTS_INTAKE_DEAD_LETTER,
)

# Keyed by customer_id: one partition count for all of them (CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS).
CUSTOMER_KEYED: tuple[TopicSpec, ...] = (EVENTS, EVENTS_RAW, ALERTS, CUSTOMER_STATE)

# Kafka record headers the services set or read.
HEADER_EVENT_TYPE = "event_type"
HEADER_PRODUCER = "producer"
HEADER_DLQ_REASON = "dlq.reason"
HEADER_DLQ_SOURCE = "dlq.source"
HEADER_DLQ_DETAIL = "dlq.detail"
