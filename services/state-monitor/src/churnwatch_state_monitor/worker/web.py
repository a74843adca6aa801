"""Web views of the worker: health, readiness, Prometheus metrics and the customer-state query.

The state view is for the alerts service only: it needs the service credential
(``Authorization: Bearer <token>``, CHURNWATCH_MONITOR_SERVICE_TOKEN[_FILE]) and answers 401
without it; managers read it through the alerts service, which checks access and audits.
Health, readiness and metrics need no credential.

A worker holds only the customers of the EVENTS partitions it owns. The state view answers for
those; for a customer of another worker's partition it answers 404 naming the partition (the
alerts service serves every customer's latest snapshot from the compacted CUSTOMER_STATE topic).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from faust.web import Request, Response, View
from prometheus_client import generate_latest

from churnwatch_shared.observability.aiohttp_web import observability_middleware
from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.service_auth import bearer_matches
from churnwatch_state_monitor import ENGINE_BUILD
from churnwatch_state_monitor.engine.state import CustomerState

if TYPE_CHECKING:
    from churnwatch_state_monitor.worker.app import MonitorApp

BROKER_TIMEOUT_S = 2.0
# aiohttp refuses a charset inside content_type; the exposition format is UTF-8 anyway.
PROMETHEUS_TEXT = "text/plain; version=0.0.4"


async def broker_reachable(bootstrap: str) -> bool:
    """True when a TCP connection to any bootstrap server opens within the timeout."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host or "127.0.0.1", int(port)), BROKER_TIMEOUT_S
            )
        except (TimeoutError, OSError, ValueError):
            continue
        writer.close()
        return True
    return False


def assigned_partitions(service: MonitorApp) -> list[int]:
    """Source (EVENTS) partitions this worker owns and has restored; empty before it joins."""
    return sorted(service.processor.stores)


def _update_lag(service: MonitorApp, exported: set[int]) -> None:
    """Publish the watchdog's per-partition lag (end offset from the broker minus committed)."""
    gauge = service.metrics.lag
    lag = dict(service.processor.watchdog.lag)
    for partition, value in lag.items():
        gauge.labels(partition=str(partition)).set(value)
    for partition in exported - set(lag):  # revoked: drop the series instead of freezing it
        gauge.remove(str(partition))
    exported.clear()
    exported.update(lag)


def register_views(service: MonitorApp) -> None:
    """Attach the ops and query views to the Faust web server."""
    app = service.app
    bootstrap = service.settings.common.kafka_bootstrap
    exported_lag: set[int] = set()
    service_token = service.settings.resolved_service_token
    # request id, HTTP RED metrics by route template and (when on) a span per request
    # web_app belongs to the aiohttp driver (faust's default web), not to the base Web type
    app.web.web_app.middlewares.append(  # type: ignore[attr-defined]
        observability_middleware(metrics=service.metrics.http)
    )

    @app.page("/healthz")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok", "service": "state-monitor"})

    @app.page("/readyz")
    class Ready(View):
        async def get(self, request: Request) -> Response:
            broker = await broker_reachable(bootstrap)
            processor = service.processor
            stalled = sorted(processor.watchdog.stalled)
            ready = broker and processor.running and not processor.restoring and not stalled
            body = {
                "status": "ready" if ready else "not_ready",
                "dependencies": {"broker": {"reachable": broker, "address": bootstrap}},
                "event_path": {"running": processor.running, "restoring": processor.restoring},
                "assigned_partitions": assigned_partitions(service),
                "stalled_partitions": stalled,
                "ruleset_version": service.monitor.rs.version,
                "rule_engine": ENGINE_BUILD,
            }
            return self.json(body, status=200 if ready else 503)

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            _update_lag(service, exported_lag)
            return self.bytes(
                generate_latest(service.metrics.registry), content_type=PROMETHEUS_TEXT
            )

    @app.page("/v1/customers/{customer_id}/state")
    class CustomerStateQuery(View):
        async def get(self, request: Request, customer_id: str) -> Response:
            if not bearer_matches(
                authorization=request.headers.get("Authorization"), token=service_token
            ):
                # Balances, loans and the churn score: never without the service credential.
                return self.json(
                    {
                        "detail": "this view needs the service credential: "
                        "Authorization: Bearer <CHURNWATCH_MONITOR_SERVICE_TOKEN>; managers read "
                        "customer state through the alerts service"
                    },
                    status=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            partition = partition_of(
                customer_id=customer_id, partitions=service.processor.partitions
            )
            store = service.processor.stores.get(partition)
            if store is None:
                return self.json(
                    {
                        "detail": f"customer {customer_id!r} is on events partition "
                        f"{partition}, which this worker does not own",
                        "partition": partition,
                        "owned_partitions": assigned_partitions(service),
                    },
                    status=404,
                )
            raw: Any = store.get(customer_id)
            if raw is None:
                return self.json({"detail": f"no state for customer {customer_id!r}"}, status=404)
            state = CustomerState.decode(raw)
            body = service.monitor.snapshot_bytes(customer_id, state)
            return self.bytes(body, content_type="application/json")
