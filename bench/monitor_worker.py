"""One state-monitor worker subprocess for the benchmarks, and the seeded events it is fed.

``python -m churnwatch_state_monitor`` on a namespace with its own web port and data dir; by
default the current checkout's, or another checkout's (``python``, ``cwd``, ``base_env``: see
``bench/baseline_tree.py``). Shared by ``monitor_bench``, ``monitor_scaleout`` and
``monitor_compare``, ``monitor_transactions`` and ``model_bench``; never part of the test suite.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import orjson

from churnwatch_simulator.bank import SimulatedBank, SimulationConfig

if TYPE_CHECKING:
    from bench.baseline_tree import BaselineTree

REPO = Path(__file__).resolve().parents[1]
APPLIED = 'churnwatch_monitor_events_total{outcome="applied"}'
EVENTS_TOTAL = "churnwatch_monitor_events_total{"


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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

    def cpu_seconds(self) -> float:
        """CPU time the worker process has used so far."""
        assert self.proc is not None
        return process_cpu_seconds(self.proc.pid)

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


def bench_worker(
    *,
    bootstrap: str,
    namespace: str,
    data_dir: Path,
    extra_env: dict[str, str],
    tree: BaselineTree | None,
) -> Worker:
    """A worker of this checkout, or of ``tree`` with its own compiled engine, 30 s session."""
    if tree is None:
        worker = Worker(
            bootstrap=bootstrap, namespace=namespace, data_dir=data_dir, extra_env=extra_env
        )
    else:  # never the interpreted fallback: others may be editing this checkout's engine
        worker = Worker(
            bootstrap=bootstrap,
            namespace=namespace,
            data_dir=data_dir,
            extra_env=extra_env,
            python=tree.python,
            cwd=tree.tree,
            base_env=tree.base_env(),
        )
        worker.env["CHURNWATCH_MONITOR_NATIVE"] = "require"
    # a 6 s session lets the lease guard (transactions off) stop a worker whose batch outlives
    # 4 s on a loaded machine (seen here: LeaseLapsed); 30 s on both sides, as monitor_compare
    worker.env["CHURNWATCH_MONITOR_SESSION_TIMEOUT_S"] = "30"
    return worker


async def drain_applied(
    worker: Worker, *, expected: int, timeout: float, cpu: list[float] | None = None
) -> tuple[float, float]:
    """Poll /metrics; returns (time of first applied > 0, time applied reached expected).
    ``cpu``, when given, gets the worker's CPU seconds at those two moments."""
    first = last = None
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient() as client:
        while time.perf_counter() < deadline:
            applied = await worker.applied(client)
            now = time.perf_counter()
            if applied and first is None:
                first = now
                if cpu is not None:
                    cpu.append(worker.cpu_seconds())
            if applied is not None and applied >= expected:
                last = now
                if cpu is not None:
                    cpu.append(worker.cpu_seconds())
                break
            await asyncio.sleep(0.1)
    if first is None or last is None:
        raise TimeoutError(f"worker applied fewer than {expected} events in {timeout}s")
    return first, last


def _last_crash(log: Path) -> str:
    """The last 'unhandled' line of a worker's log (why it stopped), '?' when none."""
    crash = [x for x in log.read_text(errors="replace").splitlines() if "unhandled" in x]
    return (crash or ["?"])[-1][:300]


async def run_until_applied(
    worker: Worker, *, log: Path, expected: int, timeout: float, cpu: list[float] | None = None
) -> tuple[float, float] | str:
    """Start ``worker`` (output to ``log``), drain it, stop it: ``drain_applied``'s times, or
    why the worker stopped on its own before applying ``expected`` events."""
    worker.start(log=log)
    drain = asyncio.create_task(drain_applied(worker, expected=expected, timeout=timeout, cpu=cpu))
    try:
        while not drain.done():
            assert worker.proc is not None
            if worker.proc.poll() is not None:  # stopped itself: say why instead of waiting
                drain.cancel()
                return f"worker exited {worker.proc.returncode}: {_last_crash(log)}"
            await asyncio.sleep(0.2)
        return drain.result()
    finally:
        worker.stop()
