"""Metric names: those the services export today, those planned, and those a PromQL text names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import prometheus_client
import yaml
from prometheus_client import CollectorRegistry

import churnwatch_alerts.metrics  # noqa: F401 - registers the alerts metrics (default registry)
from churnwatch_ingest.metrics import IngestMetrics
from churnwatch_state_monitor.worker.metrics import MonitorMetrics

PLANNED_FILE = Path(__file__).resolve().parents[2] / "deploy/prometheus/planned-metrics.yml"
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "unknown": ("",),
}
# Series Prometheus itself adds to every target.
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
}


def _names(registry: CollectorRegistry) -> set[str]:
    names: set[str] = set()
    for family in registry.collect():
        names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


def exported_metrics() -> set[str]:
    """Every series name the three services export today (alerts: default registry, process_*)."""
    return (
        _names(IngestMetrics().registry)
        | _names(MonitorMetrics().registry)
        | _names(prometheus_client.REGISTRY)
        | SCRAPE_SERIES
    )


def planned() -> dict[str, Any]:
    """deploy/prometheus/planned-metrics.yml."""
    loaded: dict[str, Any] = yaml.safe_load(PLANNED_FILE.read_text())
    return loaded


def planned_metrics() -> dict[str, str]:
    """Series name -> the planned metric it belongs to."""
    series: dict[str, str] = {}
    for name, spec in planned()["planned"].items():
        family = name.removesuffix("_total")
        for suffix in SUFFIXES[spec["type"]]:
            series[family + suffix] = name
    return series


def metrics_in(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (label matchers, ranges, grouping removed)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"(?<![\w:])\d+(\.\d+)?(e[+-]?\d+)?\b", " ", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word = match.group(0)
        after = text[match.end() :].lstrip()
        if after.startswith("(") or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names
