"""The state monitor's live state view, called with the service credential.

Each monitor worker answers only for the customers of the events partitions it owns (404 with a
``partition`` field for the others), so the workers are asked in turn until one owns the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import structlog

log = structlog.get_logger(__name__)


class MonitorUnavailable(Exception):
    """No worker answered, or a worker refused our service credential."""


@dataclass(frozen=True, slots=True)
class LiveState:
    found: bool
    state: dict[str, Any] | None
    worker: str | None


class MonitorClient:
    """HTTP client of the monitor workers' ``/v1/customers/{id}/state`` view."""

    def __init__(self, *, urls: list[str], token: str, timeout_seconds: float) -> None:
        self._urls = urls
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, headers={"Authorization": f"Bearer {token}"}
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def state(self, *, customer_id: str) -> LiveState:
        """The customer's live state from the worker that owns it; ``found=False`` when none has it."""
        failures: list[str] = []
        path = f"/v1/customers/{quote(customer_id, safe='')}/state"
        for base in self._urls:
            try:
                response = await self._client.get(base + path)
            except httpx.HTTPError as exc:
                failures.append(f"{base}: {type(exc).__name__}")
                continue
            if response.status_code == 200:
                return LiveState(found=True, state=response.json(), worker=base)
            if response.status_code == 404:
                if "partition" in _json(response):
                    failures.append(f"{base}: does not own the customer's partition")
                    continue
                return LiveState(found=False, state=None, worker=base)
            if response.status_code in (401, 403):
                log.error("monitor.credential_refused", worker=base, status=response.status_code)
                raise MonitorUnavailable(f"{base} refused the service credential")
            failures.append(f"{base}: HTTP {response.status_code}")
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
