"""Schemathesis fuzzes the published OpenAPI of a real ingest process: no input gives a 5xx."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

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


def ndjson_body(value: object) -> bytes:
    """NDJSON bodies: a generated string as is, anything else as one JSON line."""
    if isinstance(value, str):
        return value.encode()
    # The standard library, not orjson: generated JSON may hold integers beyond 64 bits.
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: object, value: object) -> bytes:
    return ndjson_body(value)


# The schema the service publishes at /openapi.json, built from the same app factory. (Loading it
# lazily with schemathesis.pytest.from_fixture breaks on pytest 9: it writes Function._nodeid.)
schema = schemathesis.openapi.from_dict(
    create_app(IngestSettings(common=CommonSettings(env=Environment.TEST))).openapi()
)


# `make test` runs a fixed set of examples (derandomized, no example database), so a red run is
# reproducible; `make fuzz` (CHURNWATCH_FUZZ_EXAMPLES=N) runs N freshly random examples instead.
FUZZ_EXAMPLES = int(os.environ.get("CHURNWATCH_FUZZ_EXAMPLES", "0"))


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES or 60,
    derandomize=not FUZZ_EXAMPLES,
    database=None,
    print_blob=True,
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


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, [{"amount": 10**30}], {"n": [2**200]}])
def test_the_ndjson_serializer_sends_integers_beyond_64_bits(value: object) -> None:
    # Negative fuzzing sends any JSON where the schema asks for a string, including huge integers.
    assert json.loads(ndjson_body(value)) == value
