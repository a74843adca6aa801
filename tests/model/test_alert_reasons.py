"""Churn-risk alerts carry the model's reasons: features, the customer's values, own and peer
baselines, worded for a manager (backtest with --model; the worker is checked on the broker)."""

from __future__ import annotations

from pathlib import Path

import orjson

from churnwatch_alerts.cases.wording import reason_text
from churnwatch_shared.alerts import Alert
from churnwatch_state_monitor.backtest import main as backtest
from churnwatch_state_monitor.model.artifact import ChurnModel
from churnwatch_state_monitor.model.features import REGISTRY


def _alerts(events: Path, tmp_path: Path, *extra: str) -> list[dict]:
    out = tmp_path / "alerts.ndjson"
    assert backtest([str(events), "--out", str(out), *extra]) == 0
    return [orjson.loads(x) for x in out.read_bytes().splitlines()]


def model_reasons(alert: dict) -> list[dict]:
    """The reasons the model added to an alert."""
    return [r for r in alert["reasons"] if r["code"].startswith("model.")]


def test_churn_risk_alerts_carry_model_features_with_values(
    sim, model_dir: Path, tmp_path: Path
) -> None:
    events, _, _ = sim
    # the rule composite raises them (--levels rules); the model's own alerts: test_model_levels
    alerts = _alerts(events, tmp_path, "--model", str(model_dir), "--levels", "rules")
    model = ChurnModel(model_dir)
    churn = [a for a in alerts if a["kind"] == "churn_risk"]
    assert len(churn) >= 10
    for alert in alerts:
        Alert.model_validate(alert)  # the contract the alerts service reads
        if alert["kind"] != "churn_risk":
            assert not model_reasons(alert)
    explained = [a for a in churn if model_reasons(a)]
    assert len(explained) >= 0.9 * len(churn)  # none only when no feature pushes the score up
    with_baseline = 0
    for alert in explained:
        assert not alert["reasons"][0]["code"].startswith("model.")  # the rule's reason first
        reasons = model_reasons(alert)
        assert len(reasons) <= 3
        weights = [r["weight"] for r in reasons]
        assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
        for r in reasons:
            feature = REGISTRY[r["code"].removeprefix("model.")]
            assert feature.name in model.names
            assert r["text"].startswith(f"{feature.label}: ")
            if r["observed"] is not None:
                assert "unknown" not in r["text"]
            if r["baseline"] is not None:
                with_baseline += 1
                assert "usually" in r["text"]
    assert with_baseline > 0
    assert any("peers" in r["text"] for a in explained for r in model_reasons(a))


def test_without_a_model_alerts_have_only_rule_reasons(sim, tmp_path: Path) -> None:
    events, _, _ = sim
    alerts = _alerts(events, tmp_path)
    assert alerts and not any(model_reasons(a) for a in alerts)


def test_the_case_page_keeps_the_model_wording() -> None:
    reason = {
        "code": "model.card_spend_4w",
        "state": "product_usage",
        "text": "card spending, last 4 weeks: 300 CNY (usually 1,200 CNY; peers 900 CNY)",
        "observed": 300.0,
        "baseline": 1200.0,
        "window": "model",
        "weight": 0.8,
    }
    assert reason_text(reason, currency="CNY") == (
        "Card spending, last 4 weeks: 300 CNY (usually 1,200 CNY; peers 900 CNY)."
    )
