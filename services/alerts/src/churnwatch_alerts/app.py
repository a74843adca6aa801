"""The FastAPI application: lifespan owns the engine, migrations, intake and background workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

import structlog
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from churnwatch_alerts import health
from churnwatch_alerts.alerts.endpoints import router as alerts_router
from churnwatch_alerts.assignments.endpoints import router as assignments_router
from churnwatch_alerts.audit.endpoints import router as audit_router
from churnwatch_alerts.audit.refusals import RefusalAudit
from churnwatch_alerts.auth.endpoints import router as auth_router
from churnwatch_alerts.auth.throttle import LoginThrottle
from churnwatch_alerts.cases.contacts import IngestClient
from churnwatch_alerts.cases.endpoints import router as cases_router
from churnwatch_alerts.clock import Clock, SystemClock
from churnwatch_alerts.customers.endpoints import router as customers_router
from churnwatch_alerts.customers.monitor import MonitorClient
from churnwatch_alerts.db import create_engine, create_sessionmaker
from churnwatch_alerts.escalation.scheduler import EscalationScheduler
from churnwatch_alerts.intake.consumer import Intake
from churnwatch_alerts.managers.endpoints import router as managers_router
from churnwatch_alerts.metrics import HTTP
from churnwatch_alerts.migrate import upgrade
from churnwatch_alerts.notifications.backlog import BacklogGauge
from churnwatch_alerts.notifications.channels import Channel, default_channels
from churnwatch_alerts.notifications.digest import DigestScheduler
from churnwatch_alerts.notifications.dispatcher import Dispatcher
from churnwatch_alerts.notifications.endpoints import router as dead_letters_router
from churnwatch_alerts.playbook.config import load_playbook
from churnwatch_alerts.playbook.endpoints import router as playbook_router
from churnwatch_alerts.playbook.marketing import MarketingObjections
from churnwatch_alerts.privacy.endpoints import router as privacy_router
from churnwatch_alerts.privacy.events import ErasureSender, KafkaErasureSender
from churnwatch_alerts.privacy.objections import DatabaseObjections
from churnwatch_alerts.privacy.retention import RetentionScheduler
from churnwatch_alerts.seed import demo_accounts_present, seed_dev_managers
from churnwatch_alerts.settings import AlertsSettings
from churnwatch_alerts.value.config import load_value_config
from churnwatch_alerts.value.endpoints import router as value_router
from churnwatch_alerts.value.scheduler import ValueReviewScheduler
from churnwatch_alerts.web import router as web_router
from churnwatch_shared.observability.asgi import ObservabilityMiddleware

log = structlog.get_logger(__name__)


async def _supervise(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Keep a background loop alive: log and restart it after an unexpected error."""
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker.crashed", worker=name)
            await asyncio.sleep(1.0)


def create_app(
    *,
    settings: AlertsSettings | None = None,
    clock: Clock | None = None,
    channels: dict[str, Channel] | None = None,
    marketing_objections: MarketingObjections | None = None,
    erasure_sender: ErasureSender | None = None,
) -> FastAPI:
    """Build the app; nothing connects until the lifespan starts."""
    settings = settings or AlertsSettings()
    settings.check_production()
    clock = clock or SystemClock()
    # Read at build time: a bad margins or playbook file stops the start with its field named.
    value_config = load_value_config(settings.value_config_file)
    playbook = load_playbook(settings.playbook_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(url=settings.database_url)
        sessionmaker = create_sessionmaker(engine=engine)
        app.state.engine = engine
        app.state.sessionmaker = sessionmaker
        app.state.intake = None
        app.state.monitor = MonitorClient(
            urls=settings.monitor_urls,
            token=settings.monitor_service_token,
            timeout_seconds=settings.monitor_timeout_seconds,
        )
        app.state.ingest = IngestClient(
            base_url=settings.ingest_url,
            api_key=settings.ingest_producer_key,
            timeout_seconds=settings.monitor_timeout_seconds,
        )
        tasks: list[asyncio.Task[None]] = []
        try:
            if settings.migrate_on_start:
                await upgrade(engine=engine)
            if settings.seed_dev_logins:
                created = await seed_dev_managers(sessionmaker=sessionmaker)
                if created:
                    log.warning("dev_logins.seeded", managers=created)
            elif not settings.common.is_development:
                demo = await demo_accounts_present(sessionmaker=sessionmaker)
                if demo:
                    log.warning("dev_logins.present_and_refused", managers=demo)
            if settings.escalation_enabled:
                scheduler = EscalationScheduler(
                    settings=settings, sessionmaker=sessionmaker, clock=clock
                )
                app.state.escalation = scheduler
                tasks.append(asyncio.create_task(_supervise("escalation", scheduler.run)))
            if settings.value_reviews_enabled:
                reviews = ValueReviewScheduler(
                    sessionmaker=sessionmaker,
                    clock=clock,
                    config=value_config,
                    kind=settings.value_period,
                    interval_seconds=settings.value_interval_seconds,
                )
                app.state.value_reviews = reviews
                tasks.append(asyncio.create_task(_supervise("value.reviews", reviews.run)))
            dispatcher = Dispatcher(
                settings=settings,
                sessionmaker=sessionmaker,
                clock=clock,
                channels=channels if channels is not None else default_channels(settings),
            )
            app.state.dispatcher = dispatcher
            if settings.consume:
                intake = Intake(
                    settings=settings,
                    sessionmaker=sessionmaker,
                    clock=clock,
                    on_alerts=dispatcher.wake,
                )
                await intake.start()
                app.state.intake = intake
                tasks.append(asyncio.create_task(_supervise("intake.alerts", intake.alerts.run)))
                tasks.append(asyncio.create_task(_supervise("intake.context", intake.context.run)))
            if settings.retention.enabled:
                retention = RetentionScheduler(
                    settings=settings.retention, sessionmaker=sessionmaker, clock=clock
                )
                tasks.append(asyncio.create_task(_supervise("privacy.retention", retention.run)))
            backlog = BacklogGauge(sessionmaker=sessionmaker, clock=clock)
            tasks.append(asyncio.create_task(_supervise("outbox.backlog", backlog.run)))
            refusals = partial(app.state.refusal_audit.run, sessionmaker=sessionmaker, clock=clock)
            tasks.append(asyncio.create_task(_supervise("audit.refusals", refusals)))
            if settings.notifications_enabled:
                tasks.append(asyncio.create_task(_supervise("outbox", dispatcher.run)))
                digests = DigestScheduler(settings=settings, sessionmaker=sessionmaker, clock=clock)
                tasks.append(asyncio.create_task(_supervise("digest", digests.run)))
            log.info("alerts.started", group_id=settings.effective_group_id)
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if app.state.intake is not None:
                await app.state.intake.stop()
            if getattr(app.state, "dispatcher", None) is not None:
                await app.state.dispatcher.close()
            await app.state.monitor.close()
            await app.state.ingest.close()
            await engine.dispose()

    # Swagger UI and ReDoc assets served by the service itself: a bank network has no CDN.
    app = FastAPIOffline(title="ChurnWatch alerts", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    app.state.refusal_audit = RefusalAudit(per_minute=settings.refusal_audit_per_minute)
    app.state.login_throttle = LoginThrottle(
        max_failures=settings.login_max_failures,
        max_failures_per_address=settings.login_max_failures_per_address,
        window_seconds=settings.login_failure_window_seconds,
    )
    app.state.value_config = value_config
    app.state.playbook = playbook
    app.state.marketing_objections = marketing_objections or DatabaseObjections()
    app.state.erasure_sender = erasure_sender or KafkaErasureSender(common=settings.common)
    app.include_router(health.router)
    app.include_router(auth_router)
    app.include_router(alerts_router)
    app.include_router(customers_router)
    app.include_router(cases_router)
    app.include_router(assignments_router)
    app.include_router(managers_router)
    app.include_router(dead_letters_router)
    app.include_router(audit_router)
    app.include_router(value_router)
    app.include_router(playbook_router)
    app.include_router(privacy_router)
    app.include_router(web_router)
    app.add_middleware(ObservabilityMiddleware, metrics=HTTP)
    return app
