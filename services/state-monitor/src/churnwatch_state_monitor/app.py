"""The Faust worker: EVENTS in, one ``customer-state`` table, ALERTS / CUSTOMER_STATE / DLQ out.

The table is keyed by customer_id and written inside the event's context, so its changelog
partition is the source partition (co-partitioned, no repartition topic). All rule logic lives in
``engine.Monitor``; this module is only the Kafka plumbing.

Delivery guarantee (how faust-streaming 0.15 orders things, and what we add):

- ``table[k] = v`` updates the local store at once and queues the changelog record in Faust's
  producer buffer (``send_soon``); ``topic.send`` inside an agent goes straight to the aiokafka
  producer (``stream_publish_on_commit`` is off, so nothing is "attached" to the offset) and
  returns the delivery future. Neither waits for the broker. Changelog and ALERTS records are on
  different partitions, so either may become durable first.
- An offset is committed only after the stream acked the event (the agent moved past it) and
  ``producer.flush()`` drained every pending send; so a crash before the commit redelivers the
  event, never skips it (at least once).
- Without more care that is not enough: if the changelog record were durable and the alert not,
  the restored state would mark the redelivered event as already seen and its alert would be lost.
  Hence the rule here: **an event's alerts are acknowledged by the broker (acks=all) before its
  state record is written.** A changelog record holding an event therefore implies its alerts
  exist. The state record also keeps the source offset of the newest applied event, so every
  redelivery (however many events per customer a commit interval holds) is recognised exactly.
- Crash after the alert ack but before the state record is durable: the event is redelivered,
  re-applied to the same prior state and the same alert (same deterministic ``alert_id``, same
  content apart from ``detected_at``) is sent again. Duplicates on ALERTS are thus possible but
  only ever of the same alert_id; the alerts service upserts by alert_id, so the effect is
  exactly once. Nothing is lost and no second alert_id appears for the same condition.
- Snapshots (CUSTOMER_STATE) are not awaited; a redelivered event re-publishes the current one.

Rebalance stall: faust-streaming 0.15.3 can drop records fetched while it finishes table recovery
(its ``flow_control.resume()`` clears stream queues after the source partitions were resumed), and
the partition then never progresses. ``rebalance`` closes that race (and rewinds partitions that
have no committed offset, which Faust's seek skips); the
``watchdog.StallWatchdog`` reports any assigned partition that still stops moving (log + /readyz).

Silence rules (dormancy, missing payroll) also fire for customers who send nothing: a timer
judges, per actively owned partition, the customers due by that partition's event-time watermark
(``silence_scan``), with the same alert path and ordering as above.

Faust's ``processing_guarantee="exactly_once"`` (Kafka transactions, one transactional producer
per source partition) was not adopted: the design above needs no transactions and costs one
broker round trip per *alerting* event only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
import structlog
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from pydantic import ValidationError

from churnwatch_shared import topics
from churnwatch_shared.events import parse_event

from churnwatch_state_monitor.engine import Monitor, Status
from churnwatch_state_monitor.faults import FaultPoints
from churnwatch_state_monitor.metrics import MonitorMetrics
from churnwatch_state_monitor.rebalance import MonitorTableManager, ReplayUncommittedConsumer
from churnwatch_state_monitor.ruleset import RuleSet
from churnwatch_state_monitor.settings import MonitorSettings
from churnwatch_state_monitor.silence_scan import SilenceScanner
from churnwatch_state_monitor.state import CustomerState
from churnwatch_state_monitor.watchdog import StallWatchdog
from churnwatch_state_monitor.web import register_views

log = structlog.get_logger("churnwatch.state_monitor")

TABLE_NAME = "customer-state"
DLQ_SOURCE = b"state-monitor"
_RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes,
                        "key_serializer": "raw", "value_serializer": "raw"}


@dataclass(slots=True)
class MonitorApp:
    """The Faust app and what the web views need from it."""

    app: faust.App
    table: Any
    events_topic: Any
    monitor: Monitor
    metrics: MonitorMetrics
    settings: MonitorSettings
    watchdog: StallWatchdog


def _dlq_reason(exc: ValidationError) -> bytes:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
    where = ".".join(str(p) for p in first["loc"]) or "(record)"
    return f"invalid event at {where}: {first['msg']}"[:500].encode()


def _consumer_class(*, fetch_max_wait_ms: int) -> type[ReplayUncommittedConsumer]:
    """The worker's consumer with ``fetch_max_wait_ms`` instead of Faust's fixed 1500 ms."""

    class _Thread(AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            consumer._fetch_max_wait_ms = fetch_max_wait_ms  # read when start() builds the fetcher
            return consumer

    class FetchTunedConsumer(ReplayUncommittedConsumer):
        def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
            return _Thread(self, loop=self.loop, beacon=self.beacon)

    return FetchTunedConsumer


def create_app(*, settings: MonitorSettings, ruleset: RuleSet) -> MonitorApp:
    """Declare the app, topics, table, agent and web views (no I/O until the worker starts)."""
    common = settings.common
    app = faust.App(
        settings.resolved_app_id,
        broker=settings.broker_urls,
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=topics.CUSTOMER_PARTITIONS,
        topic_replication_factor=1,
        web_host=settings.host,
        web_port=settings.web_port,
        web_bind=settings.host,
        canonical_url=f"http://{settings.host}:{settings.web_port}",
        producer_acks=-1,
        producer_linger=settings.producer_linger_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        autodiscover=False,
        web_enabled=True,
        TableManager=MonitorTableManager,  # fixes a record-losing race after rebalances
    )
    # before app.consumer is first created
    app.transport.Consumer = _consumer_class(fetch_max_wait_ms=settings.fetch_max_wait_ms)
    events_topic = app.topic(common.topic(topics.EVENTS), **_RAW)
    alerts_topic = app.topic(common.topic(topics.ALERTS), **_RAW)
    state_topic = app.topic(common.topic(topics.CUSTOMER_STATE), **_RAW)
    dlq_topic = app.topic(common.topic(topics.DEAD_LETTER), **_RAW)
    table = app.Table(
        TABLE_NAME,
        partitions=topics.CUSTOMER_PARTITIONS,
        key_type=str,
        value_type=bytes,  # str and bytes types mean the raw codec: we encode ourselves
    )
    monitor = Monitor(ruleset=ruleset)
    metrics = MonitorMetrics()
    alert_counters: dict[tuple[str, str], Any] = {}

    async def dead_letter(event: Any, reason: bytes) -> None:
        metrics.invalid.inc()
        log.warning("event sent to dead letter", partition=event.message.partition,
                    offset=event.message.offset)
        headers = [(topics.HEADER_DLQ_REASON, reason), (topics.HEADER_DLQ_SOURCE, DLQ_SOURCE)]
        await dlq_topic.send(key=event.key, value=event.value, headers=headers)

    faults = FaultPoints(settings.fault_kill_at)

    async def publish_alerts(key: bytes, alerts: list[Any]) -> None:
        """Send the event's alerts and wait for the broker's acks (acks=all)."""
        pending = []
        for alert in alerts:
            counter = alert_counters.get((alert.rule_id, alert.severity))
            if counter is None:
                counter = metrics.alerts.labels(rule_id=alert.rule_id,
                                                severity=alert.severity.value)
                alert_counters[(alert.rule_id, alert.severity)] = counter
            counter.inc()
            pending.append(await alerts_topic.send(key=key, value=alert.model_dump_json().encode()))
        await asyncio.gather(*pending)

    scanner = SilenceScanner(
        app=app, table=table, topic=events_topic.get_topic_name(), monitor=monitor,
        budget=settings.scan_budget, publish=publish_alerts,
        publish_snapshot=lambda key, value: state_topic.send(key=key, value=value))

    @app.agent(events_topic, name="customer-state-monitor")
    async def monitor_events(stream: Any) -> None:
        async for event in stream.events():
            try:
                ev = parse_event(event.value)
            except ValidationError as exc:
                await dead_letter(event, _dlq_reason(exc))
                continue
            except (TypeError, ValueError) as exc:  # not JSON at all, or no value
                await dead_letter(event, f"undecodable record: {type(exc).__name__}".encode())
                continue
            customer_id = ev.customer_id
            key = customer_id.encode()
            if event.key is not None and event.key != key:
                # a record keyed by something else sits on another customer's partition
                await dead_letter(event, b"record key does not match customer_id")
                continue
            raw_state = table.get(customer_id)
            state = CustomerState.decode(raw_state) if raw_state is not None else None
            outcome = monitor.process(state, ev, now=datetime.now(UTC),
                                      offset=event.message.offset)
            status = outcome.status
            if status is not Status.APPLIED:
                if status is Status.REDELIVERED:
                    # already in the restored state: its alerts were acked before that state was
                    # written (see module docstring); re-publish the snapshot, which may be lost
                    metrics.redelivered.inc()
                    await state_topic.send(key=key, value=monitor.snapshot_bytes(
                        customer_id, outcome.state))
                elif status is Status.DUPLICATE:
                    metrics.duplicate.inc()
                else:
                    metrics.late.inc()
                    log.warning("late event not merged", event_id=ev.event_id,
                                customer_id=customer_id)
                continue
            metrics.applied.inc()
            if outcome.alerts:
                await publish_alerts(key, outcome.alerts)
                if faults.armed:
                    await faults.reach("after_alerts_acked", event_id=ev.event_id)
            table[customer_id] = outcome.state.encode()
            scanner.note_event(partition=event.message.partition, customer_id=customer_id,
                               at=int(ev.occurred_at.timestamp()), state=outcome.state)
            if faults.armed:
                await faults.reach("after_state_durable", event_id=ev.event_id,
                                   before_kill=app.producer.flush)
            if outcome.snapshot is not None:
                metrics.snapshots.inc()
                await state_topic.send(key=key, value=outcome.snapshot)

    watchdog = StallWatchdog(stall_after=settings.stall_after_s)

    @app.timer(interval=settings.watchdog_interval_s, traced=False)
    async def watch_partitions() -> None:
        await watchdog.check(app=app, topic=events_topic.get_topic_name())
        metrics.stalled.set(len(watchdog.stalled))

    if settings.scan_interval_s > 0:
        @app.timer(interval=settings.scan_interval_s or 1.0, traced=False)
        async def scan_silence() -> None:
            # dormancy / missing payroll of silent customers, by each partition's event time
            await scanner.tick()

    service = MonitorApp(app=app, table=table, events_topic=events_topic, monitor=monitor,
                         metrics=metrics, settings=settings, watchdog=watchdog)
    register_views(service)
    return service
