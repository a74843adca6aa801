"""Run a ChurnWatch service as a real subprocess for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.infra import LOCAL, REPO

LOG_DIR = LOCAL / "test-logs"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """A service started with ``python -m <module>``; its output goes to .local/test-logs/."""

    def __init__(
        self,
        *,
        name: str,
        module: str,
        env: dict[str, str],
        health_url: str | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.module = module
        self.env = env
        self.health_url = health_url
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path: Path = LOG_DIR / f"{name}-{int(time.time() * 1000)}.log"

    def start(self, *, timeout: float = 60.0) -> ServiceProcess:
        """Start the process and wait until ``health_url`` answers 200 (when given)."""
        env = {**os.environ, "CHURNWATCH_LOG_JSON": "true", **self.env}
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if self.health_url:
            self.wait_healthy(timeout=timeout)
        return self

    def wait_healthy(self, *, timeout: float = 60.0, url: str | None = None) -> None:
        """Poll the health URL until 200; fail with the log tail if the process dies or times out."""
        target = url or self.health_url
        assert target is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}"
                )
            try:
                if httpx.get(target, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not healthy at {target} after {timeout}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        """The last lines of the process log, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self, *, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int | None:
        """SIGKILL the whole process group at once (a crash, as kill -9)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=10)

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
