"""Berka through the backtest: the share of customers each rule alerts, overall and by loan outcome.

The backtest runs as ``python -m churnwatch_state_monitor.backtest`` in a subprocess, so this
module depends only on its command line (which survives the engine's internal restructuring).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from churnwatch_berka.fx import rules_with_rates


class ReplayError(RuntimeError):
    """The backtest failed or reported events it could not read."""


def packaged_rules_text() -> str:
    """The backtest's packaged rules file (read as a resource: no import of the engine)."""
    return resources.files("churnwatch_state_monitor").joinpath("rules.yaml").read_text()


def run_backtest(
    *, events: Path, alerts: Path, states: Path | None = None, timeout: float = 600.0
) -> dict[str, Any]:
    """Replay ``events`` into ``alerts`` (NDJSON) with the packaged rules and the CZK rates
    (``fx``); final snapshots into ``states`` if given; return the backtest's summary line."""
    rules = alerts.with_name("rules.yaml")
    rules.write_text(rules_with_rates(rules_text=packaged_rules_text()))
    extra = [] if states is None else ["--states", str(states)]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "churnwatch_state_monitor.backtest",
            str(events),
            "--out",
            str(alerts),
            "--rules",
            str(rules),
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise ReplayError(f"backtest exited {result.returncode}: {result.stderr[-2000:]}")
    lines = [line for line in result.stderr.splitlines() if line.startswith("{")]
    if not lines:
        raise ReplayError(f"backtest printed no summary: {result.stderr[-2000:]}")
    summary: dict[str, Any] = orjson.loads(lines[-1])
    if summary.get("invalid"):
        raise ReplayError(
            f"backtest refused {summary['invalid']} event lines: {result.stderr[-2000:]}"
        )
    return summary


def alert_shares(
    *,
    alerts: Path,
    outcomes: Path,
    purposes: dict[str, str] | None = None,
    backtest: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Per rule: alerts, customers alerted and their share of all customers (and per loan group).

    ``purposes`` maps transaction event ids to their Berka purpose (household, insurance, ...);
    each rule then also counts the purposes of its evidence events, which shows e.g. whether
    account-flow alerts rest on household bills and insurance premiums.
    """
    purposes = purposes or {}
    with outcomes.open(newline="") as fh:
        people = {row["customer_id"]: row for row in csv.DictReader(fh)}
    group_of = {
        cid: {"A": "loan_ok", "C": "loan_ok", "B": "loan_bad", "D": "loan_bad"}.get(
            row["loan_status"], "no_loan"
        )
        for cid, row in people.items()
    }
    group_size: dict[str, int] = defaultdict(int)
    for group in group_of.values():
        group_size[group] += 1
    alerted: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    levels: dict[str, set[str]] = defaultdict(set)
    evidence: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    strangers = 0
    with alerts.open("rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            alert = orjson.loads(line)
            cid, rule = alert["customer_id"], alert["rule_id"]
            if cid not in people:
                strangers += 1
                continue
            alerted[rule].add(cid)
            counts[rule] += 1
            for event_id in alert.get("evidence_event_ids", []):
                if event_id in purposes:
                    evidence[rule][purposes[event_id]] += 1
            if rule == "churn.composite_score":
                levels[alert["severity"]].add(cid)
    n = len(people)
    rules = {}
    for rule in sorted(alerted):
        by_group = {
            group: round(sum(1 for c in alerted[rule] if group_of[c] == group) / size, 4)
            for group, size in sorted(group_size.items())
        }
        rules[rule] = {
            "alerts": counts[rule],
            "customers": len(alerted[rule]),
            "share": round(len(alerted[rule]) / n, 4) if n else 0.0,
            "share_by_loan_group": by_group,
            "evidence_purposes": dict(sorted(evidence[rule].items())),
        }
    any_alert = set().union(*alerted.values()) if alerted else set()
    return {
        "customers": n,
        "loan_groups": dict(sorted(group_size.items())),
        "customers_with_any_alert": len(any_alert),
        "share_with_any_alert": round(len(any_alert) / n, 4) if n else 0.0,
        "churn_score_customers_by_severity": {k: len(v) for k, v in sorted(levels.items())},
        "alerts_for_unknown_customers": strangers,
        "rules": rules,
        "backtest": backtest or {},
    }
