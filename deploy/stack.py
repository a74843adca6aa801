"""Run the whole ChurnWatch stack locally without Docker: broker, three services, demo feed.

    python deploy/stack.py run    foreground; Ctrl-C stops everything (what `make run` does)
    python deploy/stack.py up     same stack in the background (`make up`)
    python deploy/stack.py down   stop what `up` started, then the broker (`make down`)
    python deploy/stack.py status which parts answer their health checks

Service logs go to .local/logs/<service>.log. Settings come from the environment exactly as
each service reads them (see README, "Configuration"); this script only sets defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCAL = Path(os.environ.get("CHURNWATCH_LOCAL_DIR", REPO / ".local"))
LOGS = LOCAL / "logs"
PIDS = LOCAL / "stack.pids.json"
PYTHON = sys.executable


@dataclass(frozen=True)
class Part:
    """One process of the stack."""

    name: str
    module: str
    health_url: str | None
    args: tuple[str, ...] = ()


def _env_url(var: str, default_port: int, host_var: str) -> str:
    host = os.environ.get(host_var, "127.0.0.1")
    return f"http://{host}:{os.environ.get(var, default_port)}"


INGEST_URL = _env_url("CHURNWATCH_INGEST_PORT", 8001, "CHURNWATCH_INGEST_HOST")
MONITOR_URL = _env_url("CHURNWATCH_MONITOR_WEB_PORT", 8002, "CHURNWATCH_MONITOR_HOST")
ALERTS_URL = _env_url("CHURNWATCH_ALERTS_PORT", 8003, "CHURNWATCH_ALERTS_HOST")

SERVICES = (
    Part("alerts", "churnwatch_alerts", f"{ALERTS_URL}/healthz"),
    Part("state-monitor", "churnwatch_state_monitor", f"{MONITOR_URL}/healthz"),
    Part("ingest", "churnwatch_ingest", f"{INGEST_URL}/healthz"),
)
DEMO = Part("demo-feed", "churnwatch_simulator", None, ("demo", "--url", INGEST_URL))


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def broker_running() -> bool:
    return (
        subprocess.run(
            [str(REPO / "deploy/kafka/kafka.sh"), "status"], check=False, capture_output=True
        ).returncode
        == 0
    )


def start_broker() -> bool:
    """Start the local broker unless one runs; True when this call started it."""
    already = broker_running()
    subprocess.run([str(REPO / "deploy/kafka/kafka.sh"), "start"], check=True)
    subprocess.run([PYTHON, str(REPO / "deploy/kafka/create_topics.py")], check=True)
    return not already


def stop_broker() -> None:
    subprocess.run([str(REPO / "deploy/kafka/kafka.sh"), "stop"], check=False)


def spawn(part: Part, *, detach: bool) -> subprocess.Popen[bytes]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"{part.name}.log").open("ab")
    env = {
        "CHURNWATCH_LOCAL_DIR": str(LOCAL),
        # The alerts service reads customer state from this stack's monitor.
        "CHURNWATCH_ALERTS_MONITOR_URL": MONITOR_URL,
        **os.environ,
    }
    # One service credential for both ends when only one end was given one (unset: the dev token).
    for have, want in (
        ("CHURNWATCH_MONITOR_SERVICE_TOKEN", "CHURNWATCH_ALERTS_MONITOR_TOKEN"),
        ("CHURNWATCH_ALERTS_MONITOR_TOKEN", "CHURNWATCH_MONITOR_SERVICE_TOKEN"),
    ):
        if have in env and want not in env:
            env[want] = env[have]
    return subprocess.Popen(
        [PYTHON, "-m", part.module, *part.args],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=detach,
    )


def wait_healthy(part: Part, proc: subprocess.Popen[bytes], *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (LOGS / f"{part.name}.log").read_text(errors="replace").splitlines()[-20:]
            raise SystemExit(f"[stack] {part.name} exited ({proc.returncode}):\n" + "\n".join(tail))
        if part.health_url and healthy(part.health_url):
            return
        time.sleep(0.3)
    raise SystemExit(
        f"[stack] {part.name} not healthy after {timeout}s; see {LOGS}/{part.name}.log"
    )


def start_all(*, detach: bool) -> tuple[dict[str, subprocess.Popen[bytes]], bool]:
    """Broker (if needed), services in dependency order, then the demo feed."""
    started_broker = start_broker()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for part in SERVICES:
            procs[part.name] = spawn(part, detach=detach)
            wait_healthy(part, procs[part.name])
            say(f"{part.name} up ({part.health_url})")
        procs[DEMO.name] = spawn(DEMO, detach=detach)
    except BaseException:
        stop_procs(procs)
        if started_broker:
            stop_broker()
        raise
    return procs, started_broker


def stop_procs(procs: dict[str, subprocess.Popen[bytes]] | dict[str, int]) -> None:
    for name, proc in reversed(list(procs.items())):
        pid = proc if isinstance(proc, int) else proc.pid
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            if not isinstance(proc, int) and proc.poll() is not None:
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
        say(f"{name} stopped")


def banner() -> None:
    say("ChurnWatch is running.")
    say(f"  manager inbox: {ALERTS_URL}/inbox  (development login: rm.demo / demo-only)")
    say(f"  ingest API:    {INGEST_URL}/docs   (development key: cw-dev-producer-key)")
    say(f"  state monitor: {MONITOR_URL}/healthz")
    say(f"  logs:          {LOGS}/")


def run() -> int:
    procs, started_broker = start_all(detach=False)
    banner()
    say("demo feed is sending; alerts arrive in the inbox within a minute. Ctrl-C stops all.")
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None and name != DEMO.name:
                    say(f"{name} exited with {proc.returncode}; see {LOGS}/{name}.log")
                    stopping = True
            time.sleep(0.5)
    finally:
        stop_procs(procs)
        # A broker that was already running (someone else's) is left alone.
        if started_broker:
            stop_broker()
    say("stopped")
    return 0


def up() -> int:
    procs, started_broker = start_all(detach=True)
    pids = {name: proc.pid for name, proc in procs.items()}
    PIDS.write_text(json.dumps({"pids": pids, "started_broker": started_broker}))
    banner()
    say("running in the background; `make down` stops it.")
    return 0


def down() -> int:
    started_broker = True
    if PIDS.exists():
        record = json.loads(PIDS.read_text())
        stop_procs(record["pids"])
        started_broker = record["started_broker"]
        PIDS.unlink()
    if started_broker:
        stop_broker()
    return 0


def status() -> int:
    ok = True
    for part in SERVICES:
        up_now = bool(part.health_url and healthy(part.health_url))
        ok &= up_now
        say(f"{part.name:14s} {'up' if up_now else 'down'}")
    broker = subprocess.run([str(REPO / "deploy/kafka/kafka.sh"), "status"], check=False)
    return 0 if ok and broker.returncode == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "up", "down", "status"))
    command = parser.parse_args().command
    return {"run": run, "up": up, "down": down, "status": status}[command]()


if __name__ == "__main__":
    sys.exit(main())
