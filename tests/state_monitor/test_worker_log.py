"""The worker's log is one JSON object per line, and transient start-up noise is not an ERROR."""

from __future__ import annotations

import logging

import orjson
import pytest

from churnwatch_state_monitor.worker.framework_logs import quiet_transient_errors
from tests.support.monitor_worker import monitor_worker
from tests.support.processes import free_port


@pytest.mark.integration
async def test_every_line_of_the_worker_log_is_json(
    make_namespace, kafka_bootstrap: str, tmp_path
) -> None:
    namespace = await make_namespace()
    port = free_port()
    with monitor_worker(
        namespace=namespace, bootstrap=kafka_bootstrap, port=port, tmp_path=tmp_path
    ) as worker:
        path = worker.log_path
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    assert lines
    for line in lines:  # faust's terminal spinner wrote "\b\x1b[?25h" before the first record
        assert line.startswith(b"{"), line[:80]
        orjson.loads(line)


def test_group_coordinator_not_available_is_a_warning_with_context(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("aiokafka.consumer.group_coordinator")
    quiet_transient_errors()
    quiet_transient_errors()  # idempotent: one filter
    with caplog.at_level(logging.INFO, logger="aiokafka"):
        logger.error(
            "Group Coordinator Request failed: %s", "[Error 15] GroupCoordinatorNotAvailableError"
        )
        logger.error("Heartbeat session expired - marking coordinator dead")
    first, second = caplog.records
    assert first.levelno == logging.WARNING
    assert "GroupCoordinatorNotAvailableError" in first.getMessage()
    assert "transient" in first.getMessage()
    assert second.levelno == logging.ERROR  # other coordinator errors stay errors
