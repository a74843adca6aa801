"""Grafana dashboards and Prometheus alerting rules: valid, on real (or listed planned) metrics.

promtool (Debian's prometheus package, `make ops-tools`) parses every dashboard expression (as
recording rules of a generated file), checks the alerting rules and runs their unit tests.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql import exported_metrics, metrics_in, planned, planned_metrics
from tests.deploy.tools import REPO, promtool_path, run

GRAFANA = REPO / "deploy/grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
RULES_DIR = REPO / "deploy/prometheus/rules"
RULES = RULES_DIR / "churnwatch.rules.yml"
JOBS = {"churnwatch-ingest", "churnwatch-state-monitor", "churnwatch-alerts"}
NEEDS = "Needs metric"


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def panels() -> list[tuple[str, dict[str, Any]]]:
    return [(p.stem, panel) for p in DASHBOARDS for panel in load(p)["panels"]]


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_one_dashboard_per_service_and_the_pipeline() -> None:
    assert {p.stem for p in DASHBOARDS} == JOBS | {"churnwatch-pipeline"}
    uids = [load(p)["uid"] for p in DASHBOARDS]
    assert uids == [p.stem for p in DASHBOARDS]
    for path in DASHBOARDS:
        board = load(path)
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        assert board["templating"]["list"][0]["type"] == "datasource"
        for panel in board["panels"]:
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            assert panel["datasource"]["uid"] == "${datasource}"


def test_dashboards_are_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", GRAFANA / "build_dashboards.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    for uid, (title, board_panels) in module.DASHBOARDS.items():
        expected = module.dashboard_json(uid=uid, title=title, panels=board_panels)
        assert load(GRAFANA / "dashboards" / f"{uid}.json") == expected, (
            f"{uid}.json differs from deploy/grafana/build_dashboards.py: run it"
        )


def test_pipeline_dashboard_shows_what_the_issue_asks() -> None:
    board = load(GRAFANA / "dashboards/churnwatch-pipeline.json")
    named = set().union(*(metrics_in(t["expr"]) for p in board["panels"] for t in p["targets"]))
    for metric in (
        "churnwatch_ingest_events_accepted_total",  # events/s
        "churnwatch_monitor_consumer_lag",  # lag per partition
        "churnwatch_monitor_stalled_partitions",
        "churnwatch_monitor_alerts_total",  # alert rate by rule
        "churnwatch_alerts_e2e_latency_seconds_bucket",
        "churnwatch_alerts_outbox_backlog",
        "churnwatch_alerts_notifications_dead_total",
        "churnwatch_alerts_oldest_unacked_critical_age_seconds",
    ):
        assert metric in named, metric


def test_every_dashboard_expression_parses() -> None:
    exprs = [t["expr"] for _, panel in panels() for t in panel["targets"]]
    generated = {
        "groups": [
            {
                "name": "dashboard-expressions",
                "rules": [
                    {"record": f"churnwatch:dashboard_expr_{i}", "expr": e}
                    for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    path = REPO / ".local/tests-deploy-dashboard-exprs.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(generated))
    out = run(args=[promtool_path(), "check", "rules", path])
    assert f"SUCCESS: {len(exprs)} rules found" in out


def test_promtool_sees_a_broken_expression() -> None:
    # the check above can fail: promtool refuses an expression with a syntax error
    path = REPO / ".local/tests-deploy-broken-expr.yml"
    path.parent.mkdir(exist_ok=True)
    broken = {"groups": [{"name": "g", "rules": [{"record": "r", "expr": "sum(rate(x[5m])"}]}]}
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(pytest.fail.Exception, match="exited 1"):
        run(args=[promtool_path(), "check", "rules", path])


def test_dashboards_use_only_exported_or_planned_metrics() -> None:
    exported, future = exported_metrics(), planned_metrics()
    missing_process = set(planned()["process_metrics_missing_on"])
    for board, panel in panels():
        for target in panel["targets"]:
            for metric in metrics_in(target["expr"]):
                where = f"{board}: {panel['title']}: {metric}"
                assert metric in exported or metric in future, (
                    f"{where} is neither exported nor planned"
                )
                if metric not in exported:
                    assert (
                        NEEDS in panel["description"] and future[metric] in panel["description"]
                    ), f"{where} is planned: the panel must say so"
                if metric.startswith("process_") and board in missing_process:
                    assert NEEDS in panel["description"], where


def test_alert_rules_check() -> None:
    out = run(args=[promtool_path(), "check", "rules", RULES])
    assert f"SUCCESS: {len(rules())} rules found" in out


def test_alert_rules_unit_tests() -> None:
    out = run(args=[promtool_path(), "test", "rules", "churnwatch.rules.test.yml"], cwd=RULES_DIR)
    assert "SUCCESS" in out


def test_alert_rules_use_exported_or_planned_metrics_and_say_which_are_planned() -> None:
    exported, future = exported_metrics(), planned_metrics()
    for rule in rules():
        named = metrics_in(rule["expr"])
        pending = {future[m] for m in named if m not in exported}
        unknown = {m for m in named if m not in exported and m not in future}
        assert not unknown, f"{rule['alert']}: unknown metrics {sorted(unknown)}"
        needs = set(rule["annotations"].get("needs_metric", "").split())
        assert needs == pending, f"{rule['alert']}: needs_metric must name {sorted(pending)}"
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"]


def test_every_rule_with_a_current_metric_is_unit_tested_or_listed() -> None:
    tested = set(
        re.findall(r"alertname: (\w+)", (RULES_DIR / "churnwatch.rules.test.yml").read_text())
    )
    untested = {r["alert"] for r in rules()} - tested
    # simple increase()/threshold rules without a unit test of their own
    assert untested <= {
        "ChurnWatchIngestRejectsHigh",
        "ChurnWatchIngestProduceSlow",
        "ChurnWatchRawDeadLetters",
        "ChurnWatchNotificationFailuresHigh",
        "ChurnWatchAlertsIntakeDeadLetters",
        "ChurnWatchAlertsIntakeLagHigh",
        "ChurnWatchOutboxBacklog",
        "ChurnWatchEndToEndSlow",
    }, untested


def test_scrape_configs_give_the_job_names_the_dashboards_use() -> None:
    compose = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    assert {job["job_name"] for job in compose["scrape_configs"]} == JOBS
    run(args=[promtool_path(), "check", "config", REPO / "deploy/prometheus/prometheus.yml"])
    kube = yaml.safe_load((REPO / "deploy/prometheus/scrape-kubernetes.yml").read_text())
    (job,) = kube["scrape_configs"]
    relabel = next(r for r in job["relabel_configs"] if r.get("target_label") == "job")
    assert relabel["replacement"] == "churnwatch-$1"
    templates = "".join(
        p.read_text() for p in (REPO / "deploy/helm/churnwatch/templates").glob("*.yaml")
    )
    for job_name in JOBS:
        # the chart labels each workload's pods with the component the relabelling turns into a job
        component = job_name.removeprefix("churnwatch-")
        assert f'"component" "{component}"' in templates, component
