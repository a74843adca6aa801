"""One state-monitor worker subprocess for the benchmarks, and the seeded events it is fed.

``python -m churnwatch_state_monitor`` on a namespace with its own web port and data dir; by
default the current checkout's, or another checkout's (``python``, ``cwd``, ``base_env``: see
``bench/baseline_tree.py``). Shared by ``monitor_bench``, ``monitor_scaleout`` and
``monitor_compare``; never part of the test suite.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from churnwatch_simulator.bank import SimulatedBank, SimulationConfig

REPO = Path(__file__).resolve().parents[1]
APPLIED = 'churnwatch_monitor_events_total{outcome="applied"}'
EVENTS_TOTAL = "churnwatch_monitor_events_total{"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def simulated_events(*, count: int, customers: int) -> list[tuple[bytes, bytes]]:
    """(key, value) records of the seeded simulator, in event-time order."""
    bank = SimulatedBank(config=SimulationConfig(customers=customers, days=3650, seed=11))
    return [
        (e["customer_id"].encode(), orjson.dumps(e)) for e in itertools.islice(bank.events(), count)
    ]


class Worker:
    """One ``python -m churnwatch_state_monitor`` subprocess on a namespace."""

    def __init__(
        self,
        *,
        bootstrap: str,
        namespace: str,
        data_dir: Path,
        store: str = "memory://",
        instance_id: str | None = None,
        python: str = sys.executable,
        cwd: Path = REPO,
        extra_env: dict[str, str] | None = None,
        base_env: dict[str, str] | None = None,
    ) -> None:
        self.port = _free_port()
        # python/cwd/extra_env run another checkout's code (bench/monitor_compare.py)
        self.python, self.cwd = python, cwd
        self.env = {
            **(os.environ if base_env is None else base_env),
            **(extra_env or {}),
            "CHURNWATCH_ENV": "test",
            "CHURNWATCH_KAFKA_BOOTSTRAP": bootstrap,
            "CHURNWATCH_TOPIC_NAMESPACE": namespace,
            "CHURNWATCH_LOG_LEVEL": "WARNING",
            "CHURNWATCH_MONITOR_WEB_PORT": str(self.port),
            "CHURNWATCH_MONITOR_DATA_DIR": str(data_dir),
            "CHURNWATCH_MONITOR_SESSION_TIMEOUT_S": "6",
            "CHURNWATCH_MONITOR_STORE": store,
            **({"CHURNWATCH_MONITOR_INSTANCE_ID": instance_id} if instance_id else {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, *, log: Path | None = None) -> float:
        """Start the worker; its output goes to ``log`` (appended) or nowhere."""
        sink = log.open("ab") if log is not None else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                [self.python, "-m", "churnwatch_state_monitor"],
                env=self.env,
                cwd=self.cwd,
                stdout=sink,
                stderr=sink,
                start_new_session=True,
            )
        finally:
            if log is not None:
                sink.close()  # type: ignore[union-attr]  # the child holds its own copy
        return time.perf_counter()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_bytes(self) -> int:
        """Resident memory of the worker process (Linux /proc)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    async def applied(self, client: httpx.AsyncClient) -> float | None:
        try:
            text = (await client.get(f"{self.url}/metrics", timeout=2)).text
        except httpx.HTTPError:
            return None
        for line in text.splitlines():
            if line.startswith(APPLIED):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    async def outcomes(self, client: httpx.AsyncClient) -> dict[str, float] | None:
        """Events counted so far by outcome (applied, duplicate, invalid...); None: no answer."""
        try:
            text = (await client.get(f"{self.url}/metrics", timeout=2)).text
        except httpx.HTTPError:
            return None
        counted: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith(EVENTS_TOTAL):
                label = line.split('outcome="', 1)[1].split('"', 1)[0]
                counted[label] = float(line.rsplit(" ", 1)[1])
        return counted

    async def assigned(self, client: httpx.AsyncClient) -> list[int]:
        try:
            return (await client.get(f"{self.url}/readyz", timeout=2)).json()["assigned_partitions"]
        except (httpx.HTTPError, ValueError, KeyError):
            return []
