"""Web views of the worker: health, readiness, Prometheus metrics and the customer-state query.

Faust tables are partitioned: a worker holds only the customers of its assigned partitions. The
state view is decorated with ``table_route`` so a request reaching the wrong worker is forwarded
to the owner (its ``canonical_url``); with one worker every customer is local.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from faust.web import Request, Response, View
from prometheus_client import generate_latest

from churnwatch_state_monitor.state import CustomerState

if TYPE_CHECKING:
    from churnwatch_state_monitor.app import MonitorApp

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
        except (OSError, ValueError, asyncio.TimeoutError):
            continue
        writer.close()
        return True
    return False


def assigned_partitions(service: MonitorApp) -> list[int]:
    """Source (EVENTS) partitions currently assigned to this worker; empty before it joins."""
    try:
        assigned = service.app.consumer.assignment()
    except Exception:  # noqa: BLE001 - consumer not started yet
        return []
    topic = service.events_topic.get_topic_name()
    return sorted(tp.partition for tp in assigned if tp.topic == topic)


def _update_lag(service: MonitorApp) -> None:
    """Publish the watchdog's per-partition lag (end offset from the broker minus committed)."""
    gauge = service.metrics.lag
    assigned = set(assigned_partitions(service))
    for partition, lag in list(service.watchdog.lag.items()):
        if partition in assigned:
            gauge.labels(partition=str(partition)).set(lag)
        else:  # revoked: drop the series instead of freezing its last value
            service.watchdog.lag.pop(partition, None)
            try:
                gauge.remove(str(partition))
            except KeyError:
                pass


def register_views(service: MonitorApp) -> None:
    """Attach the ops and query views to the Faust web server."""
    app = service.app
    table = service.table
    bootstrap = service.settings.common.kafka_bootstrap

    @app.page("/healthz")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok", "service": "state-monitor"})

    @app.page("/readyz")
    class Ready(View):
        async def get(self, request: Request) -> Response:
            broker = await broker_reachable(bootstrap)
            stalled = sorted(service.watchdog.stalled)
            ready = broker and not stalled
            body = {"status": "ready" if ready else "not_ready",
                    "dependencies": {"broker": {"reachable": broker, "address": bootstrap}},
                    "assigned_partitions": assigned_partitions(service),
                    "stalled_partitions": stalled,
                    "ruleset_version": service.monitor.rs.version}
            return self.json(body, status=200 if ready else 503)

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            _update_lag(service)
            return self.bytes(generate_latest(service.metrics.registry),
                              content_type=PROMETHEUS_TEXT)

    @app.page("/v1/customers/{customer_id}/state")
    class CustomerStateQuery(View):
        @app.table_route(table=table, match_info="customer_id")
        async def get(self, request: Request, customer_id: str) -> Response:
            raw: Any = table.get(customer_id)
            if raw is None:
                return self.json({"detail": f"no state for customer {customer_id!r}"}, status=404)
            state = CustomerState.decode(raw)
            body = service.monitor.snapshot_bytes(customer_id, state)
            return self.bytes(body, content_type="application/json")
