"""Backtest with --model: every --states line carries the model's probability, version, level and
top reasons, equal to scoring the replayed final states directly."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import orjson

from churnwatch_shared.customer_state import CustomerStateSnapshot
from churnwatch_state_monitor.backtest import main as backtest
from churnwatch_state_monitor.backtest import replay
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.model.artifact import ChurnModel, level_of
from churnwatch_state_monitor.ruleset import load_ruleset


def _states(events: Path, tmp_path: Path, *extra: str) -> list[dict]:
    out = tmp_path / "states.ndjson"
    argv = [str(events), "--out", str(tmp_path / "alerts.ndjson"), "--states", str(out), *extra]
    assert backtest(argv) == 0
    return [orjson.loads(x) for x in out.read_bytes().splitlines()]


def test_states_lines_carry_probability_version_level_and_reasons(
    sim, model_dir: Path, tmp_path: Path
) -> None:
    events, _, _ = sim
    cutoffs = (0.01, 0.5, 0.9)  # a low watch line: most customers are explained
    # --levels rules: the rule composite raises the alerts and the snapshot's level is this
    # probability's (the model's own levels: test_model_levels.py)
    lines = _states(
        events,
        tmp_path,
        "--model",
        str(model_dir),
        "--cutoffs",
        "0.01,0.5,0.9",
        "--levels",
        "rules",
    )
    model = ChurnModel(model_dir)
    monitor = Monitor(ruleset=load_ruleset(None))
    with events.open("rb") as fh:
        states, _ = replay(lines=fh, monitor=monitor, alerts_out=io.BytesIO(), errors=io.StringIO())
    expected = model.probabilities(model.matrix([(states[s["customer_id"]],
                                                  states[s["customer_id"]].newest)
                                                 for s in lines]))  # fmt: skip
    assert len(lines) == len(states) == 300
    levels = set()
    for snap, p in zip(lines, expected, strict=True):
        CustomerStateSnapshot.model_validate(snap)  # the contract the alerts service reads
        assert snap["model_version"] == model.version
        assert snap["churn_probability"] == round(float(p), 4)
        assert (
            snap["churn_level"]
            == ("normal", "watch", "warning", "critical")[
                level_of(snap["churn_probability"], cutoffs)
            ]
        )
        levels.add(snap["churn_probability"])
        # reasons for customers a manager is shown (watch or above), none below
        assert bool(snap["model_reasons"]) == (snap["churn_probability"] >= cutoffs[0])
        contributions = [r["contribution"] for r in snap["model_reasons"]]
        assert contributions == sorted(contributions, reverse=True) and len(contributions) <= 3
        assert all(c > 0 and r["text"] for c, r in zip(contributions, snap["model_reasons"],
                                                       strict=True))  # fmt: skip
    assert len(levels) >= 5  # the probabilities differ between customers: a meaningful check
    assert sum(1 for s in lines if s["model_reasons"]) >= len(lines) // 2
    # the top reason is the feature with the largest tree SHAP contribution
    riskiest = max(lines, key=lambda s: s["churn_probability"])
    st = states[riskiest["customer_id"]]
    contrib = model.booster.predict(model.matrix([(st, st.newest)]), pred_contrib=True)[0][:-1]
    assert riskiest["model_reasons"][0]["feature"] == model.names[int(np.argmax(contrib))]


def test_cutoffs_change_the_level_and_bad_cutoffs_are_refused(
    sim, model_dir: Path, tmp_path: Path, capsys
) -> None:
    events, _, _ = sim
    low = _states(
        events,
        tmp_path,
        *("--model", str(model_dir), "--cutoffs", "0.0001,0.0002,0.0003", "--levels", "rules"),
    )
    assert {s["churn_level"] for s in low if s["churn_probability"] >= 0.0003} == {"critical"}
    argv = [str(events), "--out", str(tmp_path / "a"), "--model", str(model_dir)]
    assert backtest([*argv, "--cutoffs", "0.5,0.2,0.9"]) == 2
    assert "three increasing probabilities" in capsys.readouterr().err


def test_without_a_model_the_rule_score_stays(sim, tmp_path: Path) -> None:
    events, _, _ = sim
    lines = _states(events, tmp_path)
    assert all("churn_probability" not in s and "model_version" not in s for s in lines)
