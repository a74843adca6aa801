"""Berka replayed through today's backtest: it runs, and the per-rule counts add up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from tests.berka.conftest import DATA

ACCOUNTS = 400


def test_replay_reports_per_rule_alert_shares(tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "churnwatch_berka",
            "replay",
            "--data",
            str(DATA),
            "--accounts",
            str(ACCOUNTS),
            "--workdir",
            str(tmp_path / "work"),
            "--summary",
            str(summary_path),
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(summary_path.read_bytes())
    assert summary == orjson.loads(result.stdout)
    lines = (tmp_path / "work" / "events.ndjson").read_bytes().splitlines()
    backtest = summary["backtest"]
    # Every loaded event applied, none refused; every customer kept a state.
    assert backtest["events"] == backtest["applied"] == len(lines)
    assert backtest["customers"] == summary["customers"] == ACCOUNTS
    assert sum(summary["loan_groups"].values()) == ACCOUNTS
    assert summary["alerts_for_unknown_customers"] == 0
    alerts = (tmp_path / "work" / "alerts.ndjson").read_bytes().splitlines()
    assert sum(r["alerts"] for r in summary["rules"].values()) == len(alerts)
    for rule, row in summary["rules"].items():
        assert backtest[f"alert:{rule}"] == row["alerts"]
        assert 0 < row["customers"] <= row["alerts"]
        assert row["share"] == round(row["customers"] / ACCOUNTS, 4)
    assert summary["customers_with_any_alert"] <= ACCOUNTS
