"""docker-compose.yml runs under compose v1 and v2, has limits, a demo feed and a scalable monitor.

No Docker engine runs here: the file is parsed (PyYAML) and checked for what each engine needs.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# Top-level keys of the Compose Specification that docker-compose 1.27+ also reads.
V1_TOP_LEVEL = {"version", "services", "volumes", "networks", "configs", "secrets"}
MEMORY = re.compile(r"^(\d+)([bkmg])$")


def test_top_level_keys_are_accepted_by_compose_v1() -> None:
    unknown = {k for k in COMPOSE if not k.startswith("x-")} - V1_TOP_LEVEL
    assert not unknown, f"docker-compose 1.29 rejects top-level {sorted(unknown)}"


def test_every_service_has_cpu_and_memory_limits() -> None:
    for name, service in SERVICES.items():
        assert float(service["cpus"]) > 0, name
        assert MEMORY.match(str(service["mem_limit"])), f"{name}: mem_limit {service['mem_limit']}"
        # deploy.resources is ignored by v1 without --compatibility and must equal mem_limit in v2
        assert "deploy" not in service, f"{name}: use cpus/mem_limit (read by v1 and v2)"


def test_the_monitor_scales_without_collisions() -> None:
    monitor = SERVICES["state-monitor"]
    env = monitor["environment"]
    assert "CHURNWATCH_MONITOR_INSTANCE_ID" not in env, "replicas would share one static id"
    assert "container_name" not in monitor
    for port in monitor["ports"]:
        host_ip, host_port, container = str(port).split(":")
        assert host_ip == "127.0.0.1", "the monitor is published on loopback only"
        assert host_port == "", f"fixed host port {host_port} collides when scaled"
        assert container == env["CHURNWATCH_MONITOR_WEB_PORT"]
    for volume in monitor.get("volumes", []):
        # a named volume or bind mount would put two workers' RocksDB stores in one data dir
        assert ":" not in str(volume), f"shared data volume {volume}"
    assert env["CHURNWATCH_MONITOR_DATA_DIR"] in monitor["volumes"]


def test_fixed_host_ports_are_unique() -> None:
    seen: dict[str, str] = {}
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            parts = str(port).split(":")
            host = parts[-2] if len(parts) >= 2 else ""
            if host:
                assert host not in seen, f"{name} and {seen[host]} both publish host port {host}"
                seen[host] = name


def test_demo_feed_sends_to_ingest_once_it_is_healthy() -> None:
    feed = SERVICES["demo-feed"]
    ingest_port = SERVICES["ingest"]["environment"]["CHURNWATCH_INGEST_PORT"]
    command = feed["command"]
    assert command[:4] == ["python", "-m", "churnwatch_simulator", "demo"]
    assert command[command.index("--url") + 1] == f"http://ingest:{ingest_port}"
    assert feed["depends_on"]["ingest"]["condition"] == "service_healthy"
    assert "HEALTHCHECK" in (REPO / "deploy/docker/ingest.Dockerfile").read_text()
    assert feed["environment"]["CHURNWATCH_ENV"] == "development"  # the documented demo key


def test_demo_feed_image_installs_the_simulator_from_the_lock() -> None:
    dockerfile = (REPO / SERVICES["demo-feed"]["build"]["dockerfile"]).read_text()
    assert "--package churnwatch-simulator" in dockerfile
    assert (REPO / "tools/simulator/src/churnwatch_simulator/__main__.py").exists()
    # uv sync --frozen reads every workspace member's pyproject
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    for member in root["tool"]["uv"]["workspace"]["members"]:
        assert f"COPY {member}/pyproject.toml" in dockerfile, f"{member} missing from the image"
