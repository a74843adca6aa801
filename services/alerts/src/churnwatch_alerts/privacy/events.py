"""Sending the erasure event onto EVENTS, keyed by the customer like every event of theirs.

Same key, same partitioner as ingest (Kafka's murmur2 default), so the event lands on the
customer's partition after every earlier event of theirs: the monitor applies all of those
first, then deletes the state. Written straight to Kafka, not through ingest, whose public API
refuses this type from producers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aiokafka import AIOKafkaProducer

from churnwatch_alerts.privacy.account_owners import tombstone_account_owners
from churnwatch_shared import topics
from churnwatch_shared.events import (
    CustomerErasureRequested,
    CustomerErasureRequestedEvent,
    EventType,
    encode_event,
)
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.settings import CommonSettings

PRODUCER = "churnwatch-alerts-privacy"


@dataclass(frozen=True, slots=True)
class Sent:
    partition: int
    offset: int
    account_owners: int = 0  # tombstones written to the account-owners topic


class ErasureSender(Protocol):
    async def send(self, *, customer_id: str, erasure_id: str, at: datetime) -> Sent:
        """Put the erasure event on EVENTS; return where, once the broker acknowledged it."""
        ...


def erasure_event(*, customer_id: str, erasure_id: str, at: datetime) -> bytes:
    """The wire bytes of the erasure event (its event id is the erasure id)."""
    event = CustomerErasureRequestedEvent(
        event_id=erasure_id,
        event_type=EventType.CUSTOMER_ERASURE_REQUESTED.value,
        occurred_at=at,
        producer=PRODUCER,
        customer_id=customer_id,
        payload=CustomerErasureRequested(erasure_id=erasure_id),
    )
    return encode_event(event)


class KafkaErasureSender:
    """One short-lived idempotent producer per erasure (they are rare); acks=all."""

    def __init__(self, *, common: CommonSettings) -> None:
        self.common = common
        self.topic = common.topic(topics.EVENTS)

    async def send(self, *, customer_id: str, erasure_id: str, at: datetime) -> Sent:
        """Tombstone the customer's account owners, then put the erasure event on EVENTS; return
        where, once the broker acknowledged it."""
        owners = await tombstone_account_owners(common=self.common, customer_id=customer_id)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.common.kafka_bootstrap,
            **client_kwargs(self.common),
            client_id=PRODUCER,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=15_000,
        )
        await producer.start()
        try:
            meta = await producer.send_and_wait(
                self.topic,
                key=customer_id.encode(),
                value=erasure_event(customer_id=customer_id, erasure_id=erasure_id, at=at),
                headers=[
                    (topics.HEADER_EVENT_TYPE, EventType.CUSTOMER_ERASURE_REQUESTED.value.encode()),
                    (topics.HEADER_PRODUCER, PRODUCER.encode()),
                ],
            )
        finally:
            await producer.stop()
        return Sent(partition=meta.partition, offset=meta.offset, account_owners=owners)
