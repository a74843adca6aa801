"""Where events go: an NDJSON file, the ingest batch API (with 503 retry), or Kafka directly."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
import orjson

from churnwatch_shared.events import encode_event, parse_event_obj
from churnwatch_shared.kafka_security import client_kwargs
from churnwatch_shared.topics import EVENTS, HEADER_EVENT_TYPE, HEADER_PRODUCER

NDJSON = "application/x-ndjson"


@dataclass(slots=True)
class Tally:
    """Per-item outcomes of a send."""

    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    retries: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def line(self, *, elapsed: float) -> str:
        """One progress line for stderr."""
        rate = self.sent / elapsed if elapsed > 0 else 0.0
        return (
            f"sent {self.sent} events ({rate:,.0f}/s): accepted {self.accepted}, "
            f"duplicate {self.duplicate}, rejected {self.rejected}, retries {self.retries}"
        )


class Sink(Protocol):
    tally: Tally

    async def send(self, events: list[bytes]) -> None: ...

    async def close(self) -> None: ...


class FileSink:
    """Appends NDJSON lines to a file."""

    def __init__(self, *, path: Path) -> None:
        self.tally = Tally()
        self._fh: IO[bytes] = path.open("wb")

    async def send(self, events: list[bytes]) -> None:
        self._fh.write(b"\n".join(events) + b"\n")
        self.tally.sent += len(events)
        self.tally.accepted += len(events)

    async def close(self) -> None:
        self._fh.close()


class IngestUnavailable(RuntimeError):
    """Ingest kept answering 503 (or could not be reached) past the retry budget."""


class IngestSink:
    """POSTs NDJSON batches to ingest; on 503 waits Retry-After and resends only what was not taken."""

    def __init__(
        self,
        *,
        url: str,
        api_key: str,
        client: httpx.AsyncClient | None = None,
        max_wait: float = 120.0,
        default_retry_after: float = 1.0,
    ) -> None:
        self.tally = Tally()
        self._url = url.rstrip("/") + "/v1/events/batch"
        self._headers = {"X-API-Key": api_key, "Content-Type": NDJSON}
        self._client = client or httpx.AsyncClient(timeout=60.0)
        self._owns_client = client is None
        self._max_wait = max_wait
        self._default_retry_after = default_retry_after

    async def send(self, events: list[bytes]) -> None:
        pending = list(events)
        waited = 0.0
        while pending:
            try:
                response = await self._client.post(
                    self._url, content=b"\n".join(pending), headers=self._headers
                )
            except httpx.TransportError as exc:
                delay = self._default_retry_after
                reason = f"ingest unreachable: {exc!r}"
            else:
                if response.status_code == 200:
                    self._count(response.json())
                    self.tally.sent += len(pending)
                    return
                if response.status_code not in (429, 503):
                    raise RuntimeError(
                        f"ingest refused the batch: HTTP {response.status_code} {response.text[:500]}"
                    )
                delay = _retry_after(response, default=self._default_retry_after)
                reason = f"ingest answered {response.status_code}"
                pending = self._keep_unavailable(response, pending)
            if waited + delay > self._max_wait:
                raise IngestUnavailable(f"{reason}; gave up after waiting {waited:.0f}s")
            self.tally.retries += 1
            await asyncio.sleep(delay)
            waited += delay

    def _count(self, body: dict[str, Any]) -> None:
        t = self.tally
        t.accepted += int(body.get("accepted", 0))
        t.duplicate += int(body.get("duplicate", 0))
        t.rejected += int(body.get("rejected", 0))
        for item in body.get("results", []):
            if item.get("status") == "rejected" and len(t.rejections) < 20:
                t.rejections.append(item)

    def _keep_unavailable(self, response: httpx.Response, pending: list[bytes]) -> list[bytes]:
        """Count the items a 503 answer settled; return the ones to resend (all if unknown)."""
        try:
            body = response.json()
            results = body["results"]
        except (ValueError, KeyError, TypeError):
            return pending
        if len(results) != len(pending):
            return pending
        self._count({k: body.get(k, 0) for k in ("accepted", "duplicate", "rejected")})
        self.tally.sent += sum(1 for r in results if r.get("status") != "unavailable")
        return [
            line
            for line, r in zip(pending, results, strict=False)
            if r.get("status") == "unavailable"
        ]

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _retry_after(response: httpx.Response, *, default: float) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


class KafkaSink:
    """Produces validated events to ``{namespace}.events.v1`` keyed by customer_id (acks=all)."""

    def __init__(self, *, bootstrap: str, namespace: str, producer_name: str = "simulator") -> None:
        from aiokafka import AIOKafkaProducer

        self.tally = Tally()
        self.topic = EVENTS.name(namespace)
        self._producer_name = producer_name
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            **client_kwargs(),
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
        )
        self._started = False

    async def send(self, events: list[bytes]) -> None:
        if not self._started:
            await self._producer.start()
            self._started = True
        futures = []
        producer_header = (HEADER_PRODUCER, self._producer_name.encode())
        for raw in events:
            obj = orjson.loads(raw)
            obj.setdefault("producer", self._producer_name)
            event = parse_event_obj(obj)
            futures.append(
                await self._producer.send(
                    self.topic,
                    key=event.customer_id.encode(),
                    value=encode_event(event),
                    headers=[(HEADER_EVENT_TYPE, event.event_type.encode()), producer_header],
                )
            )
        await asyncio.gather(*futures)
        self.tally.sent += len(events)
        self.tally.accepted += len(events)

    async def close(self) -> None:
        if self._started:
            await self._producer.stop()


async def pump(
    *,
    lines: Iterable[bytes],
    sink: Sink,
    batch_size: int = 500,
    rate: float | None = None,
    progress_every: float = 2.0,
    stream: IO[str] = sys.stderr,
) -> Tally:
    """Send serialized events in batches, at most ``rate`` events/s, printing progress to stream."""
    started = time.monotonic()
    last_report = started
    batch: list[bytes] = []
    if rate is not None and rate > 0:
        batch_size = max(1, min(batch_size, int(rate)))

    async def flush() -> None:
        nonlocal last_report
        await sink.send(batch)
        batch.clear()
        now = time.monotonic()
        if now - last_report >= progress_every:
            print(sink.tally.line(elapsed=now - started), file=stream, flush=True)
            last_report = now

    for queued, line in enumerate(lines, start=1):
        batch.append(line)
        if len(batch) >= batch_size:
            await flush()
            if rate:
                ahead = queued / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    if batch:
        await flush()
    print(sink.tally.line(elapsed=time.monotonic() - started), file=stream, flush=True)
    return sink.tally
