"""A throw-away Kafka broker for tests that stop the broker mid-run.

The shared broker on 9092 is never touched: a private broker is started with the project's own
deploy/kafka/kafka.sh on free ports and its own state directory (reusing the cached jars), and
deleted at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.infra import LOCAL, REPO
from tests.support.processes import free_port

KAFKA_SH = str(REPO / "deploy" / "kafka" / "kafka.sh")


class PrivateBroker:
    """A throw-away single-node broker under its own CHURNWATCH_LOCAL_DIR."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cw-outage-"))
        (self.dir / "kafka").mkdir()
        # The jars are the shared cache's (same .version), so kafka.sh does not resolve them again.
        (self.dir / "kafka" / "lib").symlink_to(LOCAL / "kafka" / "lib")
        self.port = free_port()
        self.env = {
            **os.environ,
            "CHURNWATCH_LOCAL_DIR": str(self.dir),
            "CHURNWATCH_KAFKA_PORT": str(self.port),
            "CHURNWATCH_KAFKA_CONTROLLER_PORT": str(free_port()),
            "CHURNWATCH_KAFKA_HEAP": "384m",
        }
        self.bootstrap = f"127.0.0.1:{self.port}"

    def run(self, command: str) -> None:
        subprocess.run([KAFKA_SH, command], env=self.env, check=True, timeout=120)

    def delete(self) -> None:
        try:
            self.run("reset")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_broker() -> Iterator[PrivateBroker]:
    if not (LOCAL / "kafka" / "lib" / ".version").exists():
        pytest.skip("no cached Kafka jars under .local/kafka/lib (run deploy/kafka/kafka.sh fetch)")
    broker = PrivateBroker()
    try:
        broker.run("start")
        yield broker
    finally:
        broker.delete()
