"""Schemathesis fuzzes the published OpenAPI of a real ingest process: no input gives a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from hypothesis import HealthCheck, settings

from churnwatch_ingest.app import create_app
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared.settings import CommonSettings, Environment
from tests.ingest.conftest import DEV_HEADERS
from tests.support.processes import ServiceProcess, free_port

schemathesis = pytest.importorskip("schemathesis")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ingest_url(kafka_bootstrap: str, topic_namespace: str) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "CHURNWATCH_ENV": "test",
        "CHURNWATCH_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CHURNWATCH_TOPIC_NAMESPACE": topic_namespace,
        "CHURNWATCH_INGEST_PORT": str(port),
        "CHURNWATCH_INGEST_RAW_VALIDATOR_ENABLED": "false",
    }
    with ServiceProcess(
        name="ingest-fuzz", module="churnwatch_ingest", env=env, health_url=f"{base}/healthz"
    ) as process:
        process.wait_healthy(url=f"{base}/readyz", timeout=30)
        yield base
        assert "unhandled_error" not in process.log_path.read_text()


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: object, value: object) -> bytes:
    """NDJSON bodies: a generated string as is, anything else as one JSON line."""
    return value.encode() if isinstance(value, str) else orjson.dumps(value)


# The schema the service publishes at /openapi.json, built from the same app factory. (Loading it
# lazily with schemathesis.pytest.from_fixture breaks on pytest 9: it writes Function._nodeid.)
schema = schemathesis.openapi.from_dict(
    create_app(IngestSettings(common=CommonSettings(env=Environment.TEST))).openapi()
)


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_input_gives_a_server_error(case, ingest_url: str) -> None:
    # Authenticated, so fuzzed bodies reach parsing, validation and the broker.
    response = case.call(base_url=ingest_url, headers=DEV_HEADERS, timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.path}: {response.status_code} {response.text[:500]}"
    )
    unauthenticated = case.call(base_url=ingest_url, headers={"X-API-Key": "not-a-key"}, timeout=30)
    assert unauthenticated.status_code < 500
