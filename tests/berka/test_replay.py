"""Berka replayed through today's backtest: it runs, and the per-rule counts add up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from churnwatch_berka.fx import rules_with_rates
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
    # the backtest converts CZK (the replay's rules carry the CZK rates): no amount left out
    states = [orjson.loads(x) for x in (tmp_path / "work" / "states.ndjson").read_bytes().split()]
    assert len(states) == ACCOUNTS
    assert sum(s["states"]["scale"]["metrics"]["amounts_without_fx_rate"] for s in states) == 0
    # ... so the engine knows each account's balance (its low-water mark is set)
    assert all(s["states"]["risk"]["metrics"]["balance_low_water"] is not None for s in states)


def test_rates_are_not_added_to_a_rules_file_that_has_its_own_fx_section() -> None:
    text = rules_with_rates(rules_text="version: v1\n")
    assert "base: CZK" in text and text.count("fx:") == 1
    with pytest.raises(ValueError, match="already has an fx section"):
        rules_with_rates(rules_text=text)
