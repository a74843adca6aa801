"""docker-compose.yml, the Dockerfiles and the local scripts describe the same system.

No Docker engine runs on our machines, so these checks are what keeps the compose file honest:
every setting it passes is one a service reads, the broker version matches the local broker, and
each service image runs the package that exists.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from pydantic_settings import BaseSettings

from churnwatch_alerts.settings import AlertsSettings
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared.settings import CommonSettings
from churnwatch_state_monitor.worker.settings import MonitorSettings

REPO = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICE_SETTINGS: dict[str, type[BaseSettings]] = {
    "ingest": IngestSettings,
    "state-monitor": MonitorSettings,
    "alerts": AlertsSettings,
}


def env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in settings.model_fields}


def test_every_compose_setting_is_read_by_its_service() -> None:
    common = env_names(CommonSettings)
    for name, settings in SERVICE_SETTINGS.items():
        env = COMPOSE["services"][name]["environment"]
        unknown = set(env) - common - env_names(settings)
        assert not unknown, f"{name}: compose sets variables no setting reads: {sorted(unknown)}"


def test_compose_broker_is_the_local_broker_version() -> None:
    pom = (REPO / "deploy/kafka/pom.xml").read_text()
    local = re.search(r"<kafka.version>(.+)</kafka.version>", pom).group(1)  # type: ignore[union-attr]
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{local}"


def test_services_wait_for_healthy_dependencies() -> None:
    for name in SERVICE_SETTINGS:
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
    assert COMPOSE["services"]["alerts"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in COMPOSE["services"]["kafka"]
    assert "healthcheck" in COMPOSE["services"]["postgres"]


def test_services_are_restarted_after_a_crash() -> None:
    # a service that cannot make a batch durable stops (nothing half-done is kept): something
    # must start it again
    for name in SERVICE_SETTINGS:
        assert COMPOSE["services"][name]["restart"] in ("unless-stopped", "always", "on-failure")


def test_each_dockerfile_runs_its_own_package() -> None:
    for name in SERVICE_SETTINGS:
        dockerfile = (REPO / f"deploy/docker/{name}.Dockerfile").read_text()
        package = "churnwatch_" + name.replace("-", "_")
        assert f'"-m", "{package}"' in dockerfile
        assert f"--package churnwatch-{name}" in dockerfile
        assert (REPO / "services" / name / "src" / package / "__main__.py").exists()
        port = re.search(r"EXPOSE (\d+)", dockerfile).group(1)  # type: ignore[union-attr]
        # the container port is published (the monitor's host port is picked per replica)
        assert COMPOSE["services"][name]["ports"][0].endswith(f":{port}")


def test_every_image_copies_every_workspace_members_pyproject() -> None:
    # `uv sync --frozen` in an image reads the whole workspace: a member missing there fails the build
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    members = root["tool"]["uv"]["workspace"]["members"]
    for dockerfile in sorted((REPO / "deploy/docker").glob("*.Dockerfile")):
        text = dockerfile.read_text()
        missing = [m for m in members if f"COPY {m}/pyproject.toml {m}/pyproject.toml" not in text]
        assert not missing, f"{dockerfile.name} does not copy the pyproject of {missing}"


def test_the_two_commands_are_what_ci_and_readme_say() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    ci = (REPO / ".ci/run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)
