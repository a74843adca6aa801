"""Observability fixtures: tracing into an in-memory exporter, switched off again afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from churnwatch_shared.observability import configure_tracing
from churnwatch_shared.observability.tracing import shutdown_tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, every finished span kept in memory."""
    exporter = InMemorySpanExporter()
    configure_tracing(service="test", exporter=exporter)
    yield exporter
    shutdown_tracing()


# the ingest app on the real broker (fixtures of tests/ingest)
from tests.alerts.conftest import alerts_db_url, db  # noqa: E402, F401
from tests.ingest.conftest import make_settings, start_ingest  # noqa: E402, F401
