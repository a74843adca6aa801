"""Webhook receivers on real local sockets (healthy, slow, hanging) and outbox seeding for tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from churnwatch_alerts.alerts.service import store_alert
from churnwatch_alerts.assignments.service import apply_assigned
from churnwatch_alerts.clock import SystemClock
from churnwatch_alerts.models import Manager, Role
from churnwatch_alerts.notifications.channels import DELIVERY_HEADER
from churnwatch_shared.alerts import Severity
from tests.alerts.factories import make_alert, make_assigned


@dataclass
class Delivery:
    """One request a receiver got: its delivery id, path and monotonic arrival time."""

    delivery_id: str
    path: str
    at: float


@dataclass
class WebhookReceiver:
    """An asyncio HTTP server. ``hang`` never answers; otherwise answers ``status`` after ``delay``."""

    port: int
    status: int = 200
    delay: float = 0.0
    hang: bool = False
    received: list[Delivery] = field(default_factory=list)
    open_requests: int = 0
    max_open_requests: int = 0
    server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:  # keep-alive: httpx reuses the connection
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *lines = head.decode().split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines if line)
                }
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(
                    Delivery(
                        delivery_id=headers.get(DELIVERY_HEADER.lower(), ""),
                        path=request_line.split(" ")[1],
                        at=time.monotonic(),
                    )
                )
                self.open_requests += 1
                self.max_open_requests = max(self.max_open_requests, self.open_requests)
                try:
                    if self.hang:
                        await reader.read()  # never answers; returns when the client gives up
                        return
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\n\r\n".encode())
                    await writer.drain()
                finally:
                    self.open_requests -= 1
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self._writers):
                writer.close()
            self.server = None

    def ids(self) -> list[str]:
        return [d.delivery_id for d in self.received]


async def add_webhook_manager(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    manager_id: str,
    url: str,
    customers: list[str],
    role: Role = Role.RELATIONSHIP_MANAGER,
    team_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """A manager who takes webhooks at ``url`` and serves ``customers``."""
    now = now or SystemClock().now()
    async with sessionmaker() as session, session.begin():
        session.add(
            Manager(
                id=manager_id,
                role=role.value,
                team_id=team_id,
                webhook_url=url,
                channels=["webhook"],
                low_severity_digest=False,
            )
        )
        await session.flush()
        for customer in customers:
            event = make_assigned(customer_id=customer, at=now, manager_id=manager_id)
            await apply_assigned(
                session,
                customer_id=customer,
                payload=event.payload,
                occurred_at=now,
                actor="test",
                now=now,
            )


async def store_alerts(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    customer_id: str,
    count: int,
    now_fn: Callable[[], datetime],
    tag: str = "k",
) -> list[str]:
    """Store ``count`` critical alerts of one customer, each in its own transaction (as intake)."""
    ids = []
    for i in range(count):
        now = now_fn()
        alert = make_alert(
            customer_id=customer_id, at=now, severity=Severity.CRITICAL, condition_key=f"{tag}{i}"
        )
        async with sessionmaker() as session, session.begin():
            await store_alert(session, alert=alert, now=now, sla_seconds={})
        ids.append(alert.alert_id)
    return ids
