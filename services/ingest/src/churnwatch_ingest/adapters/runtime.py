"""The producer-format adapters inside the ingest process: account owners, Fineract bridge, camt.

Start-up never blocks the HTTP API: the account-owner index is restored from its compacted topic
in the background (retrying while the broker is down), and the Fineract bridge starts only after
that, so its savings and loan transactions find their owners. Ownership learnt from accepted
events is written to the topic by a background flusher in batches, off the request path. A
follower applies the topic's tombstones (an erasure's) to the running index.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from churnwatch_ingest.adapters.accounts import AccountOwners, AccountOwnerTopic
from churnwatch_ingest.adapters.fineract.consumer import FineractBridge
from churnwatch_ingest.adapters.fineract.mapping import FineractMappingConfig
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared import topics
from churnwatch_shared.events import Event

log = structlog.get_logger(__name__)
FLUSH_INTERVAL_SECONDS = 0.2


class BridgeStatsCollector(Collector):
    """Exposes ``FineractBridge.stats`` (counted at the broker's ack) on /metrics."""

    def __init__(self, bridge: Callable[[], FineractBridge | None]) -> None:
        self._bridge = bridge

    def collect(self) -> Iterator[Metric]:
        bridge = self._bridge()
        if bridge is None:
            return
        stats = bridge.stats
        prefix = "churnwatch_ingest_fineract"
        records = CounterMetricFamily(f"{prefix}_records", "Fineract records processed")
        records.add_metric([], stats.records)
        yield records
        for name, label, counter, text in (
            ("published", "event_type", stats.published, "ChurnWatch events acknowledged"),
            ("skipped", "reason", stats.skipped, "Fineract records skipped (unsupported...)"),
            ("dead_lettered", "reason", stats.dead_lettered, "Fineract records dead-lettered"),
        ):
            family = CounterMetricFamily(f"{prefix}_{name}", text, labels=[label])
            for value, count in sorted(counter.items()):
                family.add_metric([value], count)
            yield family


class Adapters:
    """Owns the account-owner index, its topic store, its flusher and the optional bridge."""

    def __init__(self, *, settings: IngestSettings, registry: CollectorRegistry) -> None:
        self._settings = settings
        self.enabled = settings.account_owners_enabled
        self.owners = AccountOwners()
        self.bridge: FineractBridge | None = None
        self._store: AccountOwnerTopic | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._restored = asyncio.Event()
        registry.register(BridgeStatsCollector(lambda: self.bridge))

    @property
    def owners_ready(self) -> bool:
        """True once the index was restored from its topic and writes go through."""
        return self._restored.is_set()

    async def wait_ready(self, *, timeout: float) -> bool:
        """Wait until the index is restored (and the bridge runs, when enabled)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not all(self.checks().values()):
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def checks(self) -> dict[str, bool]:
        """Readiness entries of the adapters."""
        if not self.enabled:
            return {}
        checks = {"account_owners": self.owners_ready}
        if self._settings.fineract_enabled:
            checks["fineract_bridge"] = self.bridge is not None and self.bridge.running
        return checks

    def observe(self, event: Event) -> None:
        """Learn ownership from an accepted event (memory only; the flusher persists it)."""
        if self.enabled:
            self.owners.observe(event)

    async def start(self) -> None:
        """Begin restoring in the background; returns at once."""
        if not self.enabled:
            return
        self._tasks = [
            asyncio.create_task(self._start_loop(), name="ingest-adapters-start"),
            asyncio.create_task(self._flush_loop(), name="ingest-account-owners-flush"),
            asyncio.create_task(self._follow_loop(), name="ingest-account-owners-follow"),
        ]

    async def stop(self) -> None:
        """Stop the bridge, flush what is pending (best effort) and close the store."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.bridge is not None:
            with contextlib.suppress(Exception):
                await self.bridge.stop()
        if self._store is not None and self._restored.is_set():
            try:
                await asyncio.wait_for(self.owners.flush(), timeout=5)
            except Exception as exc:  # noqa: BLE001 - re-learnt from events after restart
                log.warning("account_owners_final_flush_failed", error=type(exc).__name__)
        if self._store is not None:
            with contextlib.suppress(Exception):
                await self._store.stop()

    async def _start_loop(self) -> None:
        settings = self._settings
        backoff = settings.connect_retry_seconds
        topic = settings.common.topic(topics.ACCOUNT_OWNERS)
        while not self._restored.is_set():
            store = AccountOwnerTopic(bootstrap=settings.common.kafka_bootstrap, topic=topic)
            try:
                restored = await store.restore()
                await store.start()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker down or topic missing: retry
                log.warning("account_owners_restore_retry", error=type(exc).__name__, topic=topic)
                with contextlib.suppress(Exception):
                    await store.stop()
                await asyncio.sleep(backoff)
                continue
            self.owners.load(restored)
            self.owners.attach(store)
            self._store = store
            self._restored.set()
            log.info("account_owners_restored", accounts=len(restored), topic=topic)
        if settings.fineract_enabled:
            await self._start_bridge()

    async def _start_bridge(self) -> None:
        settings = self._settings
        common = settings.common
        while True:
            bridge = FineractBridge(
                bootstrap=common.kafka_bootstrap,
                events_topic=common.topic(topics.EVENTS),
                dead_letter_topic=common.topic(topics.DEAD_LETTER),
                owners=self.owners,
                group_id=settings.effective_fineract_group_id,
                source_topic=settings.fineract_topic,
                config=FineractMappingConfig(
                    default_currency=settings.fineract_default_currency,
                    overdue_event_days=settings.fineract_overdue_event_days,
                ),
            )
            try:
                await bridge.start()
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await bridge.stop()
                raise
            except Exception as exc:  # noqa: BLE001 - broker down: retry
                log.warning("fineract_bridge_start_retry", error=type(exc).__name__)
                with contextlib.suppress(Exception):
                    await bridge.stop()
                await asyncio.sleep(settings.connect_retry_seconds)
                continue
            self.bridge = bridge
            log.info("fineract_bridge_started", topic=settings.fineract_topic)
            return

    async def _flush_loop(self) -> None:
        await self._restored.wait()
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
            if not self.owners.has_pending:
                continue
            try:
                await self.owners.flush()
            except Exception as exc:  # noqa: BLE001 - kept pending; retried next round
                log.warning("account_owners_flush_failed", error=type(exc).__name__)
                await asyncio.sleep(self._settings.connect_retry_seconds)

    async def _follow_loop(self) -> None:
        await self._restored.wait()
        store = self._store
        assert store is not None  # set before _restored
        while True:
            try:
                await store.follow_tombstones(self._forget)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker down: resume where it stopped
                log.warning("account_owners_follow_retry", error=type(exc).__name__)
                await asyncio.sleep(self._settings.connect_retry_seconds)

    def _forget(self, account_ids: list[str]) -> None:
        known = self.owners.forget(account_ids)
        # counts only: the accounts are an erased customer's
        log.info("account_owners_erased", tombstones=len(account_ids), known=known)
