"""Write the Grafana dashboards (deploy/grafana/dashboards/*.json) from the panel lists below.

    .venv/bin/python deploy/grafana/build_dashboards.py

The JSON files are what Grafana imports (or provisions); this script keeps their layout uniform.
Job names are the scrape jobs of deploy/prometheus (churnwatch-ingest, -state-monitor, -alerts).
A panel on a metric no service exports yet says "Needs metric" (deploy/prometheus/planned-metrics.yml).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parent / "dashboards"
NEEDS = "Needs metric (planned, deploy/prometheus/planned-metrics.yml): "
NEEDS_PROCESS = "Needs metric: process_* on this service (a ProcessCollector in its registry). "


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    description: str = ""
    kind: str = "timeseries"


def red_panels(job: str) -> list[Panel]:
    """HTTP rate, errors and duration of one service (labelled by route template)."""
    sel = f'job="{job}"'
    return [
        Panel(
            "HTTP requests/s by route",
            (
                (
                    f"sum by (route, method) (rate(churnwatch_http_requests_total{{{sel}}}[5m]))",
                    "{{method}} {{route}}",
                ),
            ),
            "reqps",
        ),
        Panel(
            "HTTP 5xx share",
            (
                (
                    (
                        f'sum(rate(churnwatch_http_requests_total{{{sel},status=~"5.."}}[5m])) '
                        f"/ clamp_min(sum(rate(churnwatch_http_requests_total{{{sel}}}[5m])), 1e-9)"
                    ),
                    "5xx",
                ),
            ),
            "percentunit",
        ),
        Panel(
            "HTTP duration p50 / p99",
            tuple(
                (
                    (
                        f"histogram_quantile({q}, sum by (le) "
                        f"(rate(churnwatch_http_request_duration_seconds_bucket{{{sel}}}[5m])))"
                    ),
                    f"p{int(q * 100)}",
                )
                for q in (0.5, 0.99)
            ),
            "s",
        ),
    ]


def process_panels(job: str, *, exported: bool) -> list[Panel]:
    """CPU, memory and open files of one service's processes."""
    sel = f'job="{job}"'
    note = "" if exported else NEEDS_PROCESS
    return [
        Panel(
            "CPU (cores) per instance",
            ((f"rate(process_cpu_seconds_total{{{sel}}}[5m])", "{{instance}}"),),
            "short",
            note,
        ),
        Panel(
            "Resident memory per instance",
            ((f"process_resident_memory_bytes{{{sel}}}", "{{instance}}"),),
            "bytes",
            note,
        ),
        Panel(
            "Open file descriptors",
            ((f"process_open_fds{{{sel}}}", "{{instance}}"),),
            "short",
            note,
        ),
    ]


INGEST = [
    Panel(
        "Events accepted/s by type",
        (
            (
                "sum by (event_type) (rate(churnwatch_ingest_events_accepted_total[5m]))",
                "{{event_type}}",
            ),
        ),
        "ops",
    ),
    Panel(
        "Events rejected/s by reason",
        (("sum by (reason) (rate(churnwatch_ingest_events_rejected_total[5m]))", "{{reason}}"),),
        "ops",
    ),
    Panel(
        "Unavailable (503) and duplicates/s",
        (
            ("sum(rate(churnwatch_ingest_events_unavailable_total[5m]))", "unavailable"),
            ("sum(rate(churnwatch_ingest_events_duplicate_total[5m]))", "duplicate"),
        ),
        "ops",
    ),
    Panel(
        "Produce latency (to broker ack) p50 / p99",
        tuple(
            (
                (
                    f"histogram_quantile({q}, sum by (le, kind) "
                    "(rate(churnwatch_ingest_produce_latency_seconds_bucket[5m])))"
                ),
                f"p{int(q * 100)} {{{{kind}}}}",
            )
            for q in (0.5, 0.99)
        ),
        "s",
    ),
    Panel(
        "Requests in flight",
        (("sum(churnwatch_ingest_requests_in_flight)", "in flight"),),
    ),
    Panel(
        "Producers re-created and raw-topic dead letters (15 min)",
        (
            (
                "sum by (cause) (increase(churnwatch_ingest_producer_recreated_total[15m]))",
                "re-created {{cause}}",
            ),
            (
                "sum by (reason) (increase(churnwatch_ingest_raw_dead_lettered_total[15m]))",
                "dead letter {{reason}}",
            ),
        ),
    ),
    *red_panels("churnwatch-ingest"),
    *process_panels("churnwatch-ingest", exported=True),
]

MONITOR = [
    Panel(
        "Events/s by outcome",
        (("sum by (outcome) (rate(churnwatch_monitor_events_total[5m]))", "{{outcome}}"),),
        "ops",
    ),
    Panel(
        "Consumer lag per partition",
        (("max by (partition) (churnwatch_monitor_consumer_lag)", "partition {{partition}}"),),
    ),
    Panel(
        "Stalled partitions",
        (("sum(churnwatch_monitor_stalled_partitions)", "stalled"),),
        kind="stat",
    ),
    Panel(
        "Alerts emitted/s by rule",
        (("sum by (rule_id) (rate(churnwatch_monitor_alerts_total[5m]))", "{{rule_id}}"),),
        "ops",
    ),
    Panel(
        "Batch duration p50 / p99",
        tuple(
            (
                (
                    f"histogram_quantile({q}, sum by (le) "
                    "(rate(churnwatch_monitor_batch_seconds_bucket[5m])))"
                ),
                f"p{int(q * 100)}",
            )
            for q in (0.5, 0.99)
        ),
        "s",
    ),
    Panel(
        "Events per batch (mean)",
        (
            (
                (
                    "sum(rate(churnwatch_monitor_batch_events_sum[5m])) "
                    "/ clamp_min(sum(rate(churnwatch_monitor_batch_events_count[5m])), 1e-9)"
                ),
                "events/batch",
            ),
        ),
    ),
    Panel(
        "Changelog restores (count, p99 duration)",
        (
            ("sum(increase(churnwatch_monitor_restore_seconds_count[15m]))", "restores"),
            (
                (
                    "histogram_quantile(0.99, sum by (le) "
                    "(rate(churnwatch_monitor_restore_seconds_bucket[1h])))"
                ),
                "p99 s",
            ),
        ),
    ),
    Panel(
        "Snapshots published/s",
        (("sum(rate(churnwatch_monitor_snapshots_total[5m]))", "snapshots"),),
        "ops",
    ),
    *red_panels("churnwatch-state-monitor"),
    *process_panels("churnwatch-state-monitor", exported=True),
]

ALERTS = [
    Panel(
        "Alerts stored/s and replays ignored/s",
        (
            ("sum(rate(churnwatch_alerts_received_total[5m]))", "stored"),
            ("sum(rate(churnwatch_alerts_duplicates_total[5m]))", "duplicates"),
        ),
        "ops",
    ),
    Panel(
        "Routed/s by target",
        (("sum by (target) (rate(churnwatch_alerts_routed_total[5m]))", "{{target}}"),),
        "ops",
    ),
    Panel(
        "Notifications delivered and failed/s by channel",
        (
            ("sum by (channel) (rate(churnwatch_alerts_notified_total[5m]))", "sent {{channel}}"),
            (
                "sum by (channel) (rate(churnwatch_alerts_notification_failures_total[5m]))",
                "failed {{channel}}",
            ),
        ),
        "ops",
    ),
    Panel(
        "Dead notifications (last 24 h)",
        (
            (
                "sum by (channel) (increase(churnwatch_alerts_notifications_dead_total[24h]))",
                "{{channel}}",
            ),
        ),
        kind="stat",
    ),
    Panel(
        "Oldest unacknowledged critical alert",
        (("max(churnwatch_alerts_oldest_unacked_critical_age_seconds)", "age"),),
        "s",
        kind="stat",
    ),
    Panel(
        "Escalations/s",
        (("sum(rate(churnwatch_alerts_escalated_total[5m]))", "escalated"),),
        "ops",
    ),
    Panel(
        "Intake rejected and dead-lettered/s",
        (
            (
                "sum by (topic) (rate(churnwatch_alerts_intake_rejected_total[5m]))",
                "rejected {{topic}}",
            ),
            (
                "sum by (topic, reason) (rate(churnwatch_alerts_intake_dead_lettered_total[5m]))",
                "dead letter {{topic}} {{reason}}",
            ),
        ),
        "ops",
    ),
    Panel(
        "Intake lag per partition",
        (("max by (topic, partition) (churnwatch_alerts_intake_lag)", "{{topic}} {{partition}}"),),
    ),
    Panel(
        "Outbox backlog by channel",
        # every replica counts the same rows: max over instances
        (("max by (channel) (churnwatch_alerts_outbox_backlog)", "{{channel}}"),),
    ),
    *red_panels("churnwatch-alerts"),
    *process_panels("churnwatch-alerts", exported=True),
]

PIPELINE = [
    Panel(
        "Events/s: accepted by ingest, applied by the monitor",
        (
            ("sum(rate(churnwatch_ingest_events_accepted_total[5m]))", "ingest accepted"),
            (
                'sum(rate(churnwatch_monitor_events_total{outcome="applied"}[5m]))',
                "monitor applied",
            ),
        ),
        "ops",
    ),
    Panel(
        "Monitor lag per partition",
        (("max by (partition) (churnwatch_monitor_consumer_lag)", "partition {{partition}}"),),
    ),
    Panel(
        "Stalled partitions",
        (("sum(churnwatch_monitor_stalled_partitions)", "stalled"),),
        kind="stat",
    ),
    Panel(
        "Alert rate by rule",
        (("sum by (rule_id) (rate(churnwatch_monitor_alerts_total[5m]))", "{{rule_id}}"),),
        "ops",
    ),
    Panel(
        "End-to-end latency p50 / p99 (ingest ack -> alert stored)",
        tuple(
            (
                (
                    f"histogram_quantile({q}, sum by (le) "
                    "(rate(churnwatch_alerts_e2e_latency_seconds_bucket[5m])))"
                ),
                f"p{int(q * 100)}",
            )
            for q in (0.5, 0.99)
        ),
        "s",
        "From the firing event's ingested_at header (set by ingest) to the alert stored with "
        "its notifications queued; replays are not counted",
    ),
    Panel(
        "Outbox backlog",
        (("sum(max by (channel) (churnwatch_alerts_outbox_backlog))", "backlog"),),
    ),
    Panel(
        "Dead notifications (last 24 h)",
        (("sum(increase(churnwatch_alerts_notifications_dead_total[24h]))", "dead"),),
        kind="stat",
    ),
    Panel(
        "Oldest unacknowledged critical alert",
        (("max(churnwatch_alerts_oldest_unacked_critical_age_seconds)", "age"),),
        "s",
        kind="stat",
    ),
    Panel(
        "Targets up",
        (('sum by (job) (up{job=~"churnwatch-.*"})', "{{job}}"),),
    ),
]

DASHBOARDS = {
    "churnwatch-pipeline": ("ChurnWatch / Pipeline", PIPELINE),
    "churnwatch-ingest": ("ChurnWatch / Ingest", INGEST),
    "churnwatch-state-monitor": ("ChurnWatch / State monitor", MONITOR),
    "churnwatch-alerts": ("ChurnWatch / Alerts", ALERTS),
}


def panel_json(panel: Panel, index: int) -> dict[str, object]:
    """One Grafana panel, two per row, 12 columns wide."""
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": (index % 2) * 12, "y": (index // 2) * 8, "w": 12, "h": 8},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "expr": expr,
                "legendFormat": legend,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
            }
            for i, (expr, legend) in enumerate(panel.exprs)
        ],
    }


def dashboard_json(*, uid: str, title: str, panels: list[Panel]) -> dict[str, object]:
    """A whole dashboard with a Prometheus data-source variable."""
    return {
        "uid": uid,
        "title": title,
        "tags": ["churnwatch"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                }
            ]
        },
        "panels": [panel_json(p, i) for i, p in enumerate(panels)],
    }


def main() -> None:
    """Write every dashboard file."""
    OUT.mkdir(exist_ok=True)
    for uid, (title, panels) in DASHBOARDS.items():
        body = dashboard_json(uid=uid, title=title, panels=panels)
        (OUT / f"{uid}.json").write_text(json.dumps(body, indent=2) + "\n")


if __name__ == "__main__":
    main()
