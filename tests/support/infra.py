"""Start the project's own local Kafka broker and PostgreSQL through the deploy/ scripts."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCAL = Path(os.environ.get("CHURNWATCH_LOCAL_DIR", REPO / ".local"))


def port_open(host: str, port: int, *, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_kafka(bootstrap: str) -> None:
    """Start the local broker with deploy/kafka/kafka.sh unless one already answers."""
    host, port = bootstrap.split(":")
    if port_open(host, int(port)):
        return
    subprocess.run([str(REPO / "deploy/kafka/kafka.sh"), "start"], check=True)


def ensure_postgres() -> str:
    """Start the local PostgreSQL with deploy/postgres/postgres.sh; returns its base URL (no db)."""
    script = str(REPO / "deploy/postgres/postgres.sh")
    subprocess.run([script, "start"], check=True)
    return (
        subprocess.run([script, "url", "postgres"], check=True, capture_output=True, text=True)
        .stdout.strip()
        .rsplit("/", 1)[0]
    )


def create_database(name: str) -> str:
    """Create a fresh database on the local server and return its SQLAlchemy asyncpg URL."""
    script = str(REPO / "deploy/postgres/postgres.sh")
    subprocess.run([script, "createdb", name], check=True)
    return subprocess.run(
        [script, "url", name], check=True, capture_output=True, text=True
    ).stdout.strip()
