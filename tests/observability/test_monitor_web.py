"""The state monitor's web server (Faust/aiohttp) as a real worker process: request id, RED, process."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.processes import ServiceProcess, free_port

pytestmark = pytest.mark.integration


async def test_monitor_echoes_request_id_and_exports_http_and_process_metrics(
    make_namespace, kafka_bootstrap: str, tmp_path: Path
) -> None:
    namespace = await make_namespace()
    port = free_port()
    worker = ServiceProcess(
        name="state-monitor",
        module="churnwatch_state_monitor",
        env={
            "CHURNWATCH_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "CHURNWATCH_TOPIC_NAMESPACE": namespace,
            "CHURNWATCH_ENV": "test",
            "CHURNWATCH_MONITOR_WEB_PORT": str(port),
            "CHURNWATCH_MONITOR_DATA_DIR": str(tmp_path / "monitor"),
        },
        health_url=f"http://127.0.0.1:{port}/healthz",
    )
    with worker:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for customer in ("c-1", "c-2"):
                refused = await client.get(
                    f"/v1/customers/{customer}/state", headers={"X-Request-ID": f"mon-{customer}"}
                )
                assert refused.status_code == 401  # no service credential
                assert refused.headers["x-request-id"] == f"mon-{customer}"
            text = (await client.get("/metrics")).text
    route = "/v1/customers/{customer_id}/state"
    assert (
        f'churnwatch_http_requests_total{{method="GET",route="{route}",status="401"}} 2.0' in text
    )
    assert 'route="/healthz"' in text
    assert "c-1" not in text
    assert "process_cpu_seconds_total" in text and "process_open_fds" in text
