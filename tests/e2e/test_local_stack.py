"""`make run` in miniature: deploy/stack.py starts the three services and the demo feed on the
local broker with the embedded SQLite database, and alerts reach the demo manager's inbox API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.infra import REPO, port_open
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


def test_stack_runs_the_demo_into_the_inbox_and_stops_cleanly(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    ports = {"ingest": free_port(), "monitor": free_port(), "alerts": free_port()}
    env = {
        **os.environ,
        "CHURNWATCH_ENV": "development",
        "CHURNWATCH_LOCAL_DIR": str(tmp_path),
        "CHURNWATCH_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CHURNWATCH_TOPIC_NAMESPACE": f"t{uuid.uuid4().hex[:10]}",
        "CHURNWATCH_INGEST_PORT": str(ports["ingest"]),
        "CHURNWATCH_MONITOR_WEB_PORT": str(ports["monitor"]),
        "CHURNWATCH_MONITOR_DATA_DIR": str(tmp_path / "monitor"),
        "CHURNWATCH_ALERTS_PORT": str(ports["alerts"]),
        "CHURNWATCH_ALERTS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}",
    }
    output = (tmp_path / "stack.out").open("w+")
    stack = subprocess.Popen(
        [sys.executable, str(REPO / "deploy/stack.py"), "run"],
        cwd=REPO,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    alerts = f"http://127.0.0.1:{ports['alerts']}"
    try:
        deadline = time.monotonic() + 120
        while "ChurnWatch is running" not in (tmp_path / "stack.out").read_text():
            assert stack.poll() is None, (tmp_path / "stack.out").read_text()
            assert time.monotonic() < deadline, "stack did not come up"
            time.sleep(0.5)
        assert f"{alerts}/inbox" in (tmp_path / "stack.out").read_text()

        with httpx.Client(timeout=10) as client:
            login = client.post(
                f"{alerts}/v1/auth/login", json={"username": "rm.demo", "password": "demo-only"}
            )
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            # The alerts service reads alerts and assignments from two topics: an alert that
            # arrives before its customer's customer.assigned event waits in the branch queue
            # (which rm.demo, of branch BR001, also sees) and moves to rm.demo when the
            # assignment is applied. Every demo customer is rm.demo's, so all must end there.
            deadline = time.monotonic() + 90
            holders: set[str] = set()
            page: dict = {"total": 0, "items": []}
            while time.monotonic() < deadline:
                page = client.get(f"{alerts}/v1/alerts", headers=headers).json()
                holders = {item["assigned_to"] for item in page["items"]}
                if page["total"] > 0 and holders == {"rm.demo"}:
                    break
                time.sleep(1)
        assert page["total"] > 0, "no demo alert reached rm.demo within 90 s"
        assert holders == {"rm.demo"}, f"demo alerts still held by {holders} after 90 s"
        assert (tmp_path / "alerts.db").exists()
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGINT)
        code = stack.wait(timeout=60)
    assert code == 0, (tmp_path / "stack.out").read_text()
    assert not port_open("127.0.0.1", ports["alerts"])
    assert not port_open("127.0.0.1", ports["ingest"])
    # the broker was already running, so the stack left it alone
    host, port = kafka_bootstrap.split(":")
    assert port_open(host, int(port))
