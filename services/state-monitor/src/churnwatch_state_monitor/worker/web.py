"""Web views of the worker: health, readiness, Prometheus metrics and the customer-state query.

The state view is for the alerts service only: it needs the service credential
(``Authorization: Bearer <token>``, CHURNWATCH_MONITOR_SERVICE_TOKEN[_FILE]) and answers 401
without it; managers read it through the alerts service, which checks access and audits.
Health, readiness and metrics need no credential.

A worker holds only the customers of the EVENTS partitions it owns. The state view answers for
those itself and forwards any other customer's query, with the caller's credential, to the owner
of the customer's partition named by the consumer group's assignment (owners.py). A forwarded
request carries ``X-ChurnWatch-Forwarded-By`` and is never forwarded again: a worker that gets
one for a partition it does not own (ownership moved meanwhile) answers 503. So does a worker
that knows no owner (the group is rebalancing), whose partition is still being restored, or
whose forward failed or timed out (``CHURNWATCH_MONITOR_FORWARD_TIMEOUT_S``); every 503 names
the partition and carries ``Retry-After``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
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
FORWARDED_BY = "X-ChurnWatch-Forwarded-By"  # loop protection: set on every forwarded request
SERVED_BY = "X-ChurnWatch-Served-By"  # which worker's store answered
RETRY_AFTER_S = "1"
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
    own_url = service.settings.resolved_advertised_url
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
                return await _elsewhere(self, request, service, customer_id, partition)
            raw: Any = store.get(customer_id)
            if raw is None:
                return self.json(
                    {"detail": f"no state for customer {customer_id!r}"},
                    status=404,
                    headers={SERVED_BY: own_url},
                )
            state = CustomerState.decode(raw)
            body = service.monitor.snapshot_bytes(customer_id, state)
            return self.bytes(body, content_type="application/json", headers={SERVED_BY: own_url})


def _unavailable(view: View, detail: str, *, partition: int, service: MonitorApp) -> Response:
    """503 naming the partition: the caller may retry (or ask another worker)."""
    return view.json(
        {
            "detail": detail,
            "partition": partition,
            "owned_partitions": assigned_partitions(service),
        },
        status=503,
        headers={"Retry-After": RETRY_AFTER_S},
    )


async def _elsewhere(
    view: View, request: Request, service: MonitorApp, customer_id: str, partition: int
) -> Response:
    """Answer for a customer whose partition this worker does not hold: forward or 503."""
    own_url = service.settings.resolved_advertised_url
    forwarded_by = request.headers.get(FORWARDED_BY)
    if forwarded_by is not None:
        return _unavailable(
            view,
            f"request forwarded by {forwarded_by} for events partition {partition}, which this "
            "worker does not own (ownership moved since); not forwarded again, retry",
            partition=partition,
            service=service,
        )
    owner = service.processor.owners.owner(partition)
    if owner is None:
        return _unavailable(
            view,
            f"no owner known for events partition {partition} (customer {customer_id!r}): the "
            "monitor's consumer group is rebalancing; retry shortly",
            partition=partition,
            service=service,
        )
    if owner == own_url:
        return _unavailable(
            view,
            f"events partition {partition} was just assigned to this worker and is being "
            "restored from the changelog; retry shortly",
            partition=partition,
            service=service,
        )
    return await _forward(
        view, request, service, owner=owner, customer_id=customer_id, partition=partition
    )


async def _forward(
    view: View,
    request: Request,
    service: MonitorApp,
    *,
    owner: str,
    customer_id: str,
    partition: int,
) -> Response:
    """Ask the owner with the caller's credential; relay its answer (200, 404, 503)."""
    settings = service.settings
    headers = {
        "Authorization": request.headers.get("Authorization", ""),
        FORWARDED_BY: settings.resolved_advertised_url,
    }
    request_id = request.headers.get("X-Request-ID")
    if request_id:
        headers["X-Request-ID"] = request_id
    url = f"{owner}/v1/customers/{quote(customer_id, safe='')}/state"
    timeout = aiohttp.ClientTimeout(total=settings.forward_timeout_s)
    try:
        # one session per forward: a rare, low-rate query; nothing to close at shutdown
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers, allow_redirects=False) as answer,
        ):
            status, body = answer.status, await answer.read()
            kind = answer.headers.get("Content-Type", "application/json")
            served_by = answer.headers.get(SERVED_BY, owner)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return _unavailable(
            view,
            f"the owner of events partition {partition} ({owner}) did not answer within "
            f"{settings.forward_timeout_s:g} s ({type(exc).__name__}); retry",
            partition=partition,
            service=service,
        )
    if status in (200, 404, 503):
        headers_out = {SERVED_BY: served_by}
        retry = "Retry-After" if status == 503 else None
        if retry:
            headers_out[retry] = RETRY_AFTER_S
        return view.bytes(body, status=status, content_type=kind.split(";")[0], headers=headers_out)
    # e.g. 401: the owner holds another service token; the caller's own credential was fine
    return view.json(
        {
            "detail": f"the owner of events partition {partition} ({owner}) answered HTTP "
            f"{status} to the forwarded query (workers configured with different service "
            "tokens?)",
            "partition": partition,
        },
        status=502,
    )
