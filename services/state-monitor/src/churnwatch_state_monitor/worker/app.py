"""The worker: a faust-streaming app hosting the batch event path and the web views.

Faust provides the worker's lifecycle (``faust.Worker``: signals, start/stop ordering, the
service tree), the web server and its views. Its own Kafka consumer, agents and tables are not
started (``_HostOnly``): the event path is ``processor.EventProcessor``, a consumer-group member
that applies EVENTS in batches and keeps one changelogged state record per customer, co-
partitioned with EVENTS (see processor.py for why, and work.py for the delivery order that makes
"nothing lost, nothing doubled" hold across kill -9 and rebalances).
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.app.base import BootStrategy

from churnwatch_shared import topics
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import RuleSet
from churnwatch_state_monitor.worker.changelog import changelog_topic
from churnwatch_state_monitor.worker.metrics import MonitorMetrics
from churnwatch_state_monitor.worker.model_hook import SHADOW_SUFFIX
from churnwatch_state_monitor.worker.processor import EventProcessor
from churnwatch_state_monitor.worker.settings import MonitorSettings
from churnwatch_state_monitor.worker.web import register_views
from churnwatch_state_monitor.worker.work import Topics


class _HostOnly(BootStrategy):
    """Start Faust's web server and sensors, not its Kafka consumer, producer or tables."""

    enable_kafka = False


class _WorkerApp(faust.App):
    BootStrategy = _HostOnly


class _ProcessorService(faust.Service):
    """Starts and stops the event path with the worker."""

    def __init__(self, processor: EventProcessor) -> None:
        super().__init__()
        self.processor = processor

    async def on_start(self) -> None:
        await self.processor.start()

    async def on_stop(self) -> None:
        await self.processor.stop()


@dataclass(slots=True)
class MonitorApp:
    """The Faust app and what the web views need from it."""

    app: faust.App
    processor: EventProcessor
    monitor: Monitor
    metrics: MonitorMetrics
    settings: MonitorSettings


def create_app(*, settings: MonitorSettings, ruleset: RuleSet) -> MonitorApp:
    """Declare the app, the event path and the web views (no I/O until the worker starts)."""
    common = settings.common
    app = _WorkerApp(
        settings.resolved_app_id,
        broker=settings.broker_urls,
        datadir=str(settings.data_dir),
        web_host=settings.host,
        web_port=settings.web_port,
        web_bind=settings.host,
        canonical_url=f"http://{settings.host}:{settings.web_port}",
        autodiscover=False,
        web_enabled=True,
    )
    monitor = Monitor(ruleset=ruleset)
    metrics = MonitorMetrics()
    names = Topics(
        alerts=common.topic(topics.ALERTS),
        snapshots=common.topic(topics.CUSTOMER_STATE),
        dead_letter=common.topic(topics.DEAD_LETTER),
        changelog=changelog_topic(settings.resolved_app_id),
        shadow=f"{common.topic_namespace}.{SHADOW_SUFFIX}" if settings.shadow_model_dir else None,
    )
    service: _ProcessorService | None = None

    async def crash(exc: BaseException) -> None:
        assert service is not None
        await service.crash(exc)

    processor = EventProcessor(
        settings=settings,
        monitor=monitor,
        metrics=metrics,
        events_topic=common.topic(topics.EVENTS),
        names=names,
        on_crash=crash,
    )
    service = _ProcessorService(processor)
    app.service(service)  # type: ignore[arg-type]  # typed for classes; faust starts instances too
    monitor_app = MonitorApp(
        app=app, processor=processor, monitor=monitor, metrics=metrics, settings=settings
    )
    register_views(monitor_app)
    return monitor_app
