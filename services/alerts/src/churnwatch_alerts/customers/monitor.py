"""The state monitor's live state view, called with the service credential.

Any monitor worker answers for any customer (it forwards to the owner of the customer's
partition); one that cannot at the moment (503 during a rebalance or when the owner does not
answer, or an older worker's 404 with a ``partition`` field) is skipped for the next.
Workers are the configured URLs and, for a host name, every address it resolves to: scaled
replicas behind one service name (compose, a headless Kubernetes service) are all asked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import structlog

log = structlog.get_logger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]


class MonitorUnavailable(Exception):
    """No worker answered, or a worker refused our service credential."""


@dataclass(frozen=True, slots=True)
class LiveState:
    found: bool
    state: dict[str, Any] | None
    worker: str | None


async def resolve_all(host: str, port: int) -> list[str]:
    """Every address of ``host`` (IPv4 first), as the system resolver answers."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = {str(info[4][0]) for info in infos}
    return sorted(addresses, key=lambda a: (ipaddress.ip_address(a).version, a))


class MonitorClient:
    """HTTP client of the monitor workers' ``/v1/customers/{id}/state`` view."""

    def __init__(
        self,
        *,
        urls: list[str],
        token: str,
        timeout_seconds: float,
        resolve: Resolver = resolve_all,
    ) -> None:
        self._urls = urls
        self._resolve = resolve
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, headers={"Authorization": f"Bearer {token}"}
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def _workers(self, base: str) -> list[tuple[str, dict[str, str]]]:
        """(URL, extra headers) of each worker behind ``base``."""
        url = httpx.URL(base)
        try:
            ipaddress.ip_address(url.host)
            return [(base, {})]
        except ValueError:
            pass
        try:
            addresses = await self._resolve(url.host, url.port or 80)
        except OSError:
            return [(base, {})]  # the request itself reports the failure
        if len(addresses) <= 1:
            return [(base, {})]
        host_header = {"Host": url.netloc.decode()}
        return [(str(url.copy_with(host=a)).rstrip("/"), host_header) for a in addresses]

    async def state(self, *, customer_id: str) -> LiveState:
        """The customer's live state from the worker that owns it; ``found=False`` when none has it."""
        failures: list[str] = []
        path = f"/v1/customers/{quote(customer_id, safe='')}/state"
        for base in self._urls:
            for worker, headers in await self._workers(base):
                try:
                    response = await self._client.get(worker + path, headers=headers)
                except httpx.HTTPError as exc:
                    failures.append(f"{worker}: {type(exc).__name__}")
                    continue
                if response.status_code == 200:
                    return LiveState(found=True, state=response.json(), worker=worker)
                if response.status_code == 404:
                    if "partition" in _json(response):
                        failures.append(f"{worker}: does not own the customer's partition")
                        continue
                    return LiveState(found=False, state=None, worker=worker)
                if response.status_code in (401, 403):
                    log.error(
                        "monitor.credential_refused", worker=worker, status=response.status_code
                    )
                    raise MonitorUnavailable(f"{worker} refused the service credential")
                failures.append(f"{worker}: HTTP {response.status_code}")
        if failures:
            log.warning("monitor.unreachable", customer_id=customer_id, failures=failures)
            raise MonitorUnavailable("; ".join(failures))
        return LiveState(found=False, state=None, worker=None)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
