"""Account -> customer ownership, shared by the Fineract and ISO 20022 adapters.

Fed from our own events (``observe``: any event carrying ``account_id``, and every account in a
``balance.snapshot``), from Fineract client/savings/loan payloads, and from the API below.
When a Kafka store is attached, every change is written to the compacted topic
``{ns}.account-owners.v1`` (key account id, value JSON ``{"customer_id", "source"}``) and the
index is restored from it on start, so ownership survives restarts. Only an erasure (the alerts
service's privacy API) writes tombstones there; a running ingest follows them and forgets those
accounts at once (``AccountOwnerTopic.follow_tombstones``).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict

from churnwatch_ingest.partitioning import KeyPartitioner
from churnwatch_ingest.settings import ACCOUNTS_WRITE
from churnwatch_shared.events import BalanceSnapshotEvent, Event, EventType
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.money import Identifier
from churnwatch_shared.topics import ACCOUNT_OWNERS

_BALANCE_SNAPSHOT = EventType.BALANCE_SNAPSHOT.value
log = structlog.get_logger(__name__)


class AccountOwners:
    """In-memory account -> customer index with optional write-through to a compacted topic."""

    def __init__(self) -> None:
        self._owners: dict[str, str] = {}
        self._pending: dict[str, tuple[str, str]] = {}
        self._store: AccountOwnerTopic | None = None

    def owner(self, account_id: str) -> str | None:
        """The customer owning ``account_id``, or None when unknown."""
        return self._owners.get(account_id)

    def accounts_of(self, customer_id: str) -> list[str]:
        """Every account currently owned by ``customer_id``."""
        return sorted(a for a, c in self._owners.items() if c == customer_id)

    def __len__(self) -> int:
        return len(self._owners)

    def remember(self, *, account_id: str, customer_id: str, source: str) -> bool:
        """Record ownership now (in memory); returns True when it changed. Persist with flush()."""
        if self._owners.get(account_id) == customer_id:
            return False
        self._owners[account_id] = customer_id
        self._pending[account_id] = (customer_id, source)
        return True

    def observe(self, event: Event, *, source: str = "events") -> None:
        """Learn ownership from one of our own events (called once per accepted event)."""
        account = event.account_id
        if account and self._owners.get(account) != event.customer_id:
            self.remember(account_id=account, customer_id=event.customer_id, source=source)
        # The tag first: isinstance on a pydantic model class goes through ABCMeta.
        if event.event_type == _BALANCE_SNAPSHOT and isinstance(event, BalanceSnapshotEvent):
            for balance in event.payload.balances:
                self.remember(
                    account_id=balance.account_id, customer_id=event.customer_id, source=source
                )

    def forget(self, account_ids: list[str]) -> int:
        """Drop these accounts (an erasure's tombstones), an unflushed change of them too; how many
        were known. The erasure is the later instruction: an event of the account after it
        teaches the pair again."""
        known = 0
        for account in account_ids:
            self._pending.pop(account, None)
            if self._owners.pop(account, None) is not None:
                known += 1
        return known

    def attach(self, store: AccountOwnerTopic) -> None:
        """Write future changes through ``store``."""
        self._store = store

    def load(self, owners: dict[str, str]) -> None:
        """Bulk-load restored ownership without re-persisting it; unflushed changes win."""
        self._owners.update(owners)
        for account, (customer, _) in self._pending.items():
            self._owners[account] = customer

    @property
    def has_pending(self) -> bool:
        """True when some change has not been flushed yet."""
        return bool(self._pending)

    async def flush(self) -> None:
        """Persist changes made since the last flush (no-op without a store)."""
        if not self._pending or self._store is None:
            return  # without a store yet, changes stay pending until one is attached
        pending, self._pending = self._pending, {}
        try:
            await self._store.write(pending)
        except Exception:
            # Keep them for the next flush so a broker hiccup does not lose ownership facts.
            self._pending = {**pending, **self._pending}
            raise


class AccountOwnerTopic:
    """The compacted ``account-owners.v1`` topic: restore the index from it and write changes."""

    def __init__(self, *, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._producer: AIOKafkaProducer | None = None
        self._partition_of = KeyPartitioner()
        # per partition, the next offset not yet seen: restore() reads up to it, and
        # follow_tombstones() goes on from there (no record between the two is missed)
        self._next_offsets: dict[int, int] = {}

    async def start(self) -> None:
        """Start the idempotent producer used for writes."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            **client_kwargs(),
            acks="all",
            enable_idempotence=True,
            partitioner=self._partition_of,
        )
        await self._producer.start()

    async def stop(self) -> None:
        """Stop the producer."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def write(self, changes: dict[str, tuple[str, str]]) -> None:
        """Write every change and wait until the broker acknowledged all of them.

        The changes are grouped by partition into Kafka batches of our own (one ack future per
        batch, not per change): a bulk of events can teach thousands of accounts at once.
        """
        producer = self._producer
        if producer is None:
            raise RuntimeError("AccountOwnerTopic.start() was not called")
        topic = self._topic
        partitions = sorted(await producer.partitions_for(topic))
        groups: dict[int, list[tuple[bytes, bytes]]] = {}
        for account, (customer, source) in changes.items():
            key = account.encode()
            value = orjson.dumps({"customer_id": customer, "source": source})
            groups.setdefault(self._partition_of(key, partitions, partitions), []).append(
                (key, value)
            )
        futures: list[asyncio.Future[object]] = []
        for partition, records in groups.items():
            builder = producer.create_batch()
            for key, value in records:
                if builder.append(key=key, value=value, timestamp=None) is None:  # full
                    futures.append(await producer.send_batch(builder, topic, partition=partition))
                    builder = producer.create_batch()
                    builder.append(key=key, value=value, timestamp=None)
            futures.append(await producer.send_batch(builder, topic, partition=partition))
        await asyncio.gather(*futures)

    async def _reader(self, purpose: str) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
        """A started consumer outside any group, assigned every partition of the topic.

        ``auto_offset_reset`` earliest: should compaction have removed a follower's position
        after a long outage, it reads everything again (forgetting a pair that was learnt again
        only costs relearning it)."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            **client_kwargs(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"account-owners-{purpose}-{uuid.uuid4().hex[:6]}",
        )
        await consumer.start()
        tps = [TopicPartition(self._topic, p) for p in range(ACCOUNT_OWNERS.partitions)]
        consumer.assign(tps)
        return consumer, tps

    async def restore(self, *, timeout_ms: int = 10_000) -> dict[str, str]:
        """Read the topic from the beginning to its current end; the latest value per key wins."""
        consumer, tps = await self._reader("restore")
        owners: dict[str, str] = {}
        try:
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            deadline = asyncio.get_running_loop().time() + timeout_ms / 1000
            while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"{self._topic}: restore did not reach the end offsets")
                batch = await consumer.getmany(*tps, timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        _apply_restored(owners, record.key, record.value)
            self._next_offsets = {tp.partition: await consumer.position(tp) for tp in tps}
        finally:
            await consumer.stop()
        return owners

    async def follow_tombstones(self, forget: Callable[[list[str]], object]) -> None:
        """Hand every tombstone written after the restore to ``forget`` (account ids), until
        cancelled; a restart after an error goes on where the last call stopped.

        Only tombstones: every other record is a pair this or another ingest wrote, and applying
        our own older writes behind newer in-memory changes would undo them for a moment.
        """
        consumer, tps = await self._reader("follow")
        try:
            for tp in tps:
                if tp.partition in self._next_offsets:
                    consumer.seek(tp, self._next_offsets[tp.partition])
                else:
                    await consumer.seek_to_beginning(tp)
            while True:
                batch = await consumer.getmany(*tps, timeout_ms=1000)
                for tp, records in batch.items():
                    erased = [
                        r.key.decode(errors="replace") for r in records if r.value is None and r.key
                    ]
                    if erased:
                        forget(erased)
                    self._next_offsets[tp.partition] = records[-1].offset + 1
        finally:
            await consumer.stop()


def _apply_restored(owners: dict[str, str], key: bytes | None, value: bytes | None) -> None:
    if not key:
        return
    account = key.decode(errors="replace")
    if value is None:  # tombstone
        owners.pop(account, None)
        return
    try:
        owners[account] = json.loads(value)["customer_id"]
    except (ValueError, KeyError, TypeError):
        return


async def start_account_owners(
    *, bootstrap: str, topic: str
) -> tuple[AccountOwners, AccountOwnerTopic]:
    """Create the index, restore it from ``topic`` and attach the topic for write-through."""
    store = AccountOwnerTopic(bootstrap=bootstrap, topic=topic)
    owners = AccountOwners()
    owners.load(await store.restore())
    await store.start()
    owners.attach(store)
    return owners, store


# --- HTTP API -----------------------------------------------------------------------------------


class OwnerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: Identifier


class OwnerView(BaseModel):
    account_id: str
    customer_id: str


def build_accounts_router(
    *, owners: AccountOwners, producer_dependency: Callable[..., Any | Awaitable[Any]]
) -> APIRouter:
    """``PUT``/``GET /v1/accounts/{account_id}/owner`` for producers that know ownership out of band.

    ``PUT`` needs the ``accounts:write`` scope (403 without it) and every change is audit-logged
    (``account_owner_changed``: producer, account, previous and new owner).
    """
    router = APIRouter(prefix="/v1/accounts", tags=["accounts"])
    producer_dep = Depends(producer_dependency)

    @router.put(
        "/{account_id}/owner",
        response_model=OwnerView,
        responses={403: {"description": f"the key lacks the {ACCOUNTS_WRITE} scope"}},
    )
    async def put_owner(
        account_id: Identifier, body: OwnerBody, producer: Any = producer_dep
    ) -> OwnerView:
        name = getattr(producer, "name", "unknown")
        has_scope = getattr(producer, "has_scope", None)
        if has_scope is None or not has_scope(ACCOUNTS_WRITE):
            log.warning("account_owner_change_refused", producer=name, account_id=account_id)
            raise HTTPException(
                status_code=403,
                detail=(
                    f"producer {name} may not set account owners: the key needs the "
                    f'"{ACCOUNTS_WRITE}" scope ("scopes": ["{ACCOUNTS_WRITE}"] in its entry of '
                    "CHURNWATCH_INGEST_PRODUCERS)"
                ),
            )
        previous = owners.owner(account_id)
        owners.remember(account_id=account_id, customer_id=body.customer_id, source=f"api:{name}")
        try:
            await owners.flush()
        except Exception as exc:
            raise HTTPException(
                status_code=503,
                detail="account-owner store unavailable; retry",
                headers={"Retry-After": "5"},
            ) from exc
        if previous != body.customer_id:
            log.info(
                "account_owner_changed",
                audit=True,
                producer=name,
                account_id=account_id,
                previous_customer_id=previous,
                customer_id=body.customer_id,
            )
        return OwnerView(account_id=account_id, customer_id=body.customer_id)

    @router.get("/{account_id}/owner", response_model=OwnerView)
    async def get_owner(account_id: Identifier, producer: Any = producer_dep) -> OwnerView:
        customer = owners.owner(account_id)
        if customer is None:
            raise HTTPException(status_code=404, detail=f"no owner known for account {account_id}")
        return OwnerView(account_id=account_id, customer_id=customer)

    return router
