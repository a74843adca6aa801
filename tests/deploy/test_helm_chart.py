"""The Helm chart: lint, render (default and external Kafka/PostgreSQL values), validate every object
against the Kubernetes schemas (strict, pinned version), and check the objects that matter.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from pydantic_settings import BaseSettings

from churnwatch_alerts.settings import AlertsSettings
from churnwatch_ingest.settings import IngestSettings
from churnwatch_shared.settings import CommonSettings
from churnwatch_state_monitor.worker.settings import MonitorSettings
from tests.deploy.tools import REPO, helm_path, run

CHART = REPO / "deploy/helm/churnwatch"
EXTERNAL = CHART / "ci/external-values.yaml"
KUBERNETES_VERSION = "1.34.0"  # the oldest schema set kubernetes-validate 1.37.0 ships offline
VALUES: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
SETTINGS: list[type[BaseSettings]] = [
    CommonSettings,
    IngestSettings,
    MonitorSettings,
    AlertsSettings,
]
# Read by asyncpg, so the database URL in the pod spec carries no password.
LIBRARY_ENV = {"PGPASSWORD", "PGSSLMODE"}
SECRET_SETTINGS = {
    "CHURNWATCH_ALERTS_JWT_SECRET",
    "CHURNWATCH_ALERTS_WEBHOOK_SECRET",
    "CHURNWATCH_INGEST_PRODUCERS",
    "PGPASSWORD",
}
COMPONENTS = {"ingest": "Deployment", "alerts": "Deployment", "state-monitor": "StatefulSet"}
LISTEN = {
    "ingest": ("CHURNWATCH_INGEST_HOST", "CHURNWATCH_INGEST_PORT"),
    "alerts": ("CHURNWATCH_ALERTS_HOST", "CHURNWATCH_ALERTS_PORT"),
    "state-monitor": ("CHURNWATCH_MONITOR_HOST", "CHURNWATCH_MONITOR_WEB_PORT"),
}
RENDERINGS: dict[str, list[str | Path]] = {"default": [], "external": ["-f", EXTERNAL]}


@cache
def rendered(which: str) -> tuple[dict[str, Any], ...]:
    """Every object `helm template` renders for one values set."""
    out = run(args=[helm_path(), "template", "cw", CHART, *RENDERINGS[which]])
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def objects(which: str, kind: str) -> list[dict[str, Any]]:
    return [o for o in rendered(which) if o["kind"] == kind]


def workload(which: str, component: str) -> dict[str, Any]:
    (found,) = [
        o
        for o in objects(which, COMPONENTS[component])
        if o["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    return found


def container(obj: dict[str, Any]) -> dict[str, Any]:
    (only,) = obj["spec"]["template"]["spec"]["containers"]
    return only


def env_of(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(obj).get("env", [])}


def settings_names() -> set[str]:
    names: set[str] = set()
    for settings in SETTINGS:
        prefix = settings.model_config.get("env_prefix", "")
        names |= {f"{prefix}{field}".upper() for field in settings.model_fields}
    return names


def test_helm_version_is_the_pinned_one() -> None:
    from tests.deploy.tools import HELM_VERSION

    out = run(args=[helm_path(), "version", "--template", "{{.Version}}"])
    assert out.strip() == HELM_VERSION


@pytest.mark.parametrize("which", sorted(RENDERINGS))
def test_helm_lint(which: str) -> None:
    out = run(args=[helm_path(), "lint", "--strict", CHART, *RENDERINGS[which]])
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize("which", sorted(RENDERINGS))
def test_every_object_is_valid_for_the_pinned_kubernetes(which: str) -> None:
    kinds = sorted({o["kind"] for o in rendered(which)})
    assert kinds == sorted(
        {
            "ConfigMap",
            "Deployment",
            "HorizontalPodAutoscaler",
            "Job",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "Service",
            "StatefulSet",
        }
    ), kinds
    for obj in rendered(which):
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{which}: {name} is invalid for Kubernetes {KUBERNETES_VERSION}: {exc}")


@pytest.mark.parametrize("which", sorted(RENDERINGS))
def test_monitor_keeps_its_stores_and_identity_per_pod(which: str) -> None:
    sts = workload(which, "state-monitor")
    env = env_of(sts)
    # static membership id from the pod name: a restarted pod takes its partitions back at once
    instance = env["CHURNWATCH_MONITOR_INSTANCE_ID"]
    assert instance["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert "CHURNWATCH_MONITOR_INSTANCE_ID" in settings_names()
    # RocksDB on a volume claimed per pod, mounted at the data dir
    assert env["CHURNWATCH_MONITOR_STORE"]["value"] == "rocksdb://"
    data_dir = env["CHURNWATCH_MONITOR_DATA_DIR"]["value"]
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    mounts = {m["name"]: m["mountPath"] for m in container(sts)["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == data_dir
    assert sts["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    # the grace period covers a clean stop (batch in hand finished, offsets committed)
    session = float(env["CHURNWATCH_MONITOR_SESSION_TIMEOUT_S"]["value"])
    assert sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > session


def test_external_values_reach_the_objects() -> None:
    external = yaml.safe_load(EXTERNAL.read_text())
    (config,) = objects("external", "ConfigMap")
    assert config["data"]["CHURNWATCH_KAFKA_BOOTSTRAP"] == external["kafka"]["bootstrap"]
    assert config["data"]["CHURNWATCH_TOPIC_NAMESPACE"] == external["topicNamespace"]
    sts = workload("external", "state-monitor")
    assert sts["spec"]["replicas"] == 3
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "fast-ssd"
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    alerts = env_of(workload("external", "alerts"))
    pg = external["postgres"]
    assert alerts["CHURNWATCH_ALERTS_DATABASE_URL"]["value"] == (
        f"postgresql+asyncpg://{pg['user']}@{pg['host']}:{pg['port']}/{pg['database']}"
    )
    assert alerts["PGSSLMODE"]["value"] == "verify-full"
    # the headless service's name resolves to every worker (not-ready ones too); alerts asks
    # address by address until the owner of the customer's partition answers
    assert alerts["CHURNWATCH_ALERTS_MONITOR_URL"]["value"] == (
        "http://cw-churnwatch-monitor-headless:8002"
    )
    headless = next(
        s for s in objects("external", "Service") if s["metadata"]["name"].endswith("-headless")
    )
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    for obj in rendered("external"):
        spec = obj.get("spec", {}).get("template", {}).get("spec")
        if spec:
            image = spec["containers"][0]["image"]
            assert image.startswith("registry.bank.example/churnwatch/") and image.endswith(
                ":0.1.0"
            )
            assert spec["imagePullSecrets"] == [{"name": "bank-registry"}]


@pytest.mark.parametrize("which", sorted(RENDERINGS))
def test_probes_resources_and_ports(which: str) -> None:
    for component in COMPONENTS:
        obj = workload(which, component)
        main = container(obj)
        assert main["livenessProbe"]["httpGet"]["path"] == "/healthz", component
        assert main["startupProbe"]["httpGet"]["path"] == "/healthz", component
        assert main["readinessProbe"]["httpGet"]["path"] == "/readyz", component
        (port,) = main["ports"]
        assert port["name"] == "http"
        env = env_of(obj)
        host_setting, port_setting = LISTEN[component]
        assert int(env[port_setting]["value"]) == port["containerPort"], component
        assert env[host_setting]["value"] == "0.0.0.0", f"{component} must listen beyond loopback"
        assert {"cpu", "memory"} <= set(main["resources"]["requests"]), component
        assert {"cpu", "memory"} <= set(main["resources"]["limits"]), component
        pod = obj["spec"]["template"]
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port["containerPort"])


@pytest.mark.parametrize("which", sorted(RENDERINGS))
def test_disruption_budgets_and_autoscalers_cover_the_workloads(which: str) -> None:
    budgets = objects(which, "PodDisruptionBudget")
    for component in COMPONENTS:
        labels = workload(which, component)["spec"]["template"]["metadata"]["labels"]
        matching = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(matching) == 1, f"{component}: {len(matching)} PodDisruptionBudgets"
    monitor_pdb = next(b for b in budgets if b["metadata"]["name"].endswith("-monitor"))
    assert monitor_pdb["spec"]["maxUnavailable"] == 1  # one worker away at a time
    scaled = {
        h["spec"]["scaleTargetRef"]["name"] for h in objects(which, "HorizontalPodAutoscaler")
    }
    expected = {"cw-churnwatch-ingest"} | (
        {"cw-churnwatch-alerts"} if which == "default" else set()  # external: alerts hpa off
    )
    assert scaled == expected
    for name in expected:
        (deployment,) = [d for d in objects(which, "Deployment") if d["metadata"]["name"] == name]
        assert "replicas" not in deployment["spec"], "the HPA owns the replica count"


@pytest.mark.parametrize("which", sorted(RENDERINGS))
def test_network_policy_admits_only_the_named_callers(which: str) -> None:
    policies = {p["metadata"]["name"].rsplit("-", 1)[1]: p for p in objects(which, "NetworkPolicy")}
    assert set(policies) == {"ingest", "alerts", "monitor"}
    values = dict(VALUES["networkPolicy"])
    if which == "external":
        values |= yaml.safe_load(EXTERNAL.read_text())["networkPolicy"]
    prometheus = values["prometheusFrom"]
    for name, callers in (("ingest", values["ingestFrom"]), ("alerts", values["alertsFrom"])):
        (rule,) = policies[name]["spec"]["ingress"]
        assert rule["from"] == callers + prometheus, name
        assert policies[name]["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policies["monitor"]["spec"]["ingress"]
    alerts_labels = workload(which, "alerts")["spec"]["template"]["metadata"]["labels"]
    monitor_labels = workload(which, "state-monitor")["spec"]["template"]["metadata"]["labels"]
    assert rule["from"] == [  # alerts, and the other workers forwarding a state query
        {"podSelector": {"matchLabels": alerts_labels}},
        {"podSelector": {"matchLabels": monitor_labels}},
        *prometheus,
    ]
    for name, component in (
        ("ingest", "ingest"),
        ("alerts", "alerts"),
        ("monitor", "state-monitor"),
    ):
        labels = workload(which, component)["spec"]["template"]["metadata"]["labels"]
        assert policies[name]["spec"]["podSelector"]["matchLabels"] == labels


@pytest.mark.parametrize("which", sorted(RENDERINGS))
def test_secrets_come_from_kubernetes_secrets_only(which: str) -> None:
    secret_name = VALUES["secrets"]["name"]
    if which == "external":
        secret_name = yaml.safe_load(EXTERNAL.read_text())["secrets"]["name"]
    keys = set(VALUES["secrets"]["keys"].values())
    assert not objects(which, "Secret"), "the chart must not carry secret values"
    for config in objects(which, "ConfigMap"):
        for name, value in config["data"].items():
            assert not any(w in name for w in ("SECRET", "PASSWORD", "TOKEN", "PRODUCERS")), name
            assert "@" not in value, f"{name}: credentials in a ConfigMap value"
    for component in COMPONENTS:
        obj = workload(which, component)
        for name, entry in env_of(obj).items():
            if name in SECRET_SETTINGS:
                ref = entry["valueFrom"]["secretKeyRef"]
                assert ref["name"] == secret_name and ref["key"] in keys, name
                assert "value" not in entry, name
            if name.endswith("_FILE"):
                mounts = container(obj)["volumeMounts"]
                assert any(entry["value"].startswith(m["mountPath"] + "/") for m in mounts), name
        for volume in obj["spec"]["template"]["spec"].get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] == secret_name
                assert {i["key"] for i in volume["secret"]["items"]} <= keys
    url = env_of(workload(which, "alerts"))["CHURNWATCH_ALERTS_DATABASE_URL"]["value"]
    assert ":" not in url.split("://", 1)[1].split("@", 1)[0], "no password in the database URL"


@pytest.mark.parametrize("which", sorted(RENDERINGS))
def test_every_setting_the_chart_passes_is_read_by_a_service(which: str) -> None:
    known = settings_names() | LIBRARY_ENV
    passed: set[str] = set()
    for config in objects(which, "ConfigMap"):
        passed |= set(config["data"])
    for obj in rendered(which):
        spec = obj.get("spec", {}).get("template", {}).get("spec")
        if spec:
            for c in spec["containers"]:
                passed |= {e["name"] for e in c.get("env", [])}
    unknown = passed - known
    assert not unknown, f"the chart sets variables no setting reads: {sorted(unknown)}"


def test_topics_job_is_a_hook_running_the_repository_script() -> None:
    (job,) = objects("default", "Job")
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    main = container(job)
    script = main["command"][-1]
    assert script == "/app/deploy/kafka/create_topics.py"
    assert (REPO / script.removeprefix("/app/")).exists()
    ingest_image = (REPO / "deploy/docker/ingest.Dockerfile").read_text()
    assert f"COPY deploy/kafka/create_topics.py {script.removeprefix('/app/')}" in ingest_image
    # a pre-install hook runs before the chart's ConfigMap exists: settings inline, no envFrom
    assert "envFrom" not in main
    names = {e["name"] for e in main["env"]}
    assert {"CHURNWATCH_KAFKA_BOOTSTRAP", "CHURNWATCH_TOPIC_NAMESPACE"} <= names
