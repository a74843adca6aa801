"""The three services on a fresh namespace and database, for the end-to-end tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack import running_services


@pytest.fixture
def pipeline(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    make_namespace: Callable[[], Coroutine[Any, Any, str]],
    make_database: Callable[[], str],
    tmp_path: Path,
) -> Iterator[dict[str, str]]:
    """Alerts, monitor and ingest running: their URLs by name, plus namespace and bootstrap.

    A test module's ``STACK_LABEL`` names its processes (and their logs); default ``e2e``.
    """
    namespace = asyncio.run(make_namespace())
    with running_services(
        names=("alerts", "monitor", "ingest"),
        bootstrap=kafka_bootstrap,
        namespace=namespace,
        data_dir=tmp_path,
        env={"alerts": {"CHURNWATCH_ALERTS_DATABASE_URL": make_database()}},
        label=getattr(request.module, "STACK_LABEL", "e2e"),
    ) as urls:
        yield {"namespace": namespace, "bootstrap": kafka_bootstrap, **urls}
