"""The ingest batch client: per-item counting and resending only what a 503 left unacknowledged."""

from __future__ import annotations

import io

import httpx
import orjson
import pytest
import respx

from churnwatch_simulator.sinks import IngestSink, IngestUnavailable, pump

URL = "http://ingest.test"


def _events(n: int) -> list[bytes]:
    return [orjson.dumps({"event_id": f"e{i}"}) for i in range(n)]


def _answer(statuses: list[str]) -> dict:
    return {
        "accepted": statuses.count("accepted"),
        "duplicate": statuses.count("duplicate"),
        "rejected": statuses.count("rejected"),
        "unavailable": statuses.count("unavailable"),
        "results": [{"index": i, "status": s} for i, s in enumerate(statuses)],
    }


@respx.mock
async def test_503_is_retried_after_retry_after_with_only_the_unacknowledged_items() -> None:
    bodies: list[bytes] = []

    def reply(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        assert request.headers["x-api-key"] == "k"
        assert request.headers["content-type"] == "application/x-ndjson"
        if len(bodies) == 1:
            return httpx.Response(
                503,
                headers={"Retry-After": "0"},
                json=_answer(["accepted", "unavailable", "rejected", "unavailable"]),
            )
        return httpx.Response(200, json=_answer(["accepted", "duplicate"]))

    respx.post(f"{URL}/v1/events/batch").mock(side_effect=reply)
    sink = IngestSink(url=URL, api_key="k")
    await sink.send(_events(4))
    await sink.close()
    assert bodies[1] == b'{"event_id":"e1"}\n{"event_id":"e3"}'
    t = sink.tally
    assert (t.sent, t.accepted, t.duplicate, t.rejected, t.retries) == (4, 2, 1, 1, 1)


@respx.mock
async def test_503_without_a_body_resends_everything() -> None:
    route = respx.post(f"{URL}/v1/events/batch").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "0"}, text="busy"),
            httpx.Response(200, json=_answer(["accepted"] * 3)),
        ]
    )
    sink = IngestSink(url=URL, api_key="k")
    await sink.send(_events(3))
    assert route.call_count == 2 and sink.tally.accepted == 3
    assert route.calls[0].request.content == route.calls[1].request.content


@respx.mock
async def test_gives_up_when_ingest_stays_unavailable() -> None:
    respx.post(f"{URL}/v1/events/batch").mock(
        return_value=httpx.Response(503, headers={"Retry-After": "1"}, text="busy")
    )
    sink = IngestSink(url=URL, api_key="k", max_wait=0.5)
    with pytest.raises(IngestUnavailable):
        await sink.send(_events(1))


@respx.mock
async def test_client_errors_are_raised_not_retried() -> None:
    route = respx.post(f"{URL}/v1/events/batch").mock(return_value=httpx.Response(401, text="no"))
    sink = IngestSink(url=URL, api_key="bad")
    with pytest.raises(RuntimeError, match="HTTP 401"):
        await sink.send(_events(1))
    assert route.call_count == 1


@respx.mock
async def test_pump_batches_and_reports_progress() -> None:
    route = respx.post(f"{URL}/v1/events/batch").mock(
        side_effect=lambda r: httpx.Response(
            200, json=_answer(["accepted"] * len(r.content.split(b"\n")))
        )
    )
    out = io.StringIO()
    tally = await pump(
        lines=_events(1200), sink=IngestSink(url=URL, api_key="k"), batch_size=500, stream=out
    )
    assert route.call_count == 3 and tally.accepted == 1200
    assert "sent 1200 events" in out.getvalue()
