"""With a model loaded the churn level and the churn-risk alerts come from its probability
(model/levels.py): the level mapping, the backtest's alerts, and that they do not depend on when
the pending checkpoints are scored (the worker scores once per batch)."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import orjson
import pytest

from churnwatch_state_monitor.backtest import main as backtest
from churnwatch_state_monitor.backtest import replay
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.artifact import ChurnModel
from churnwatch_state_monitor.model.features import row
from churnwatch_state_monitor.model.levels import (
    DEFAULT_EVERY_DAYS,
    ModelLevels,
    model_level,
    parse_hysteresis,
)
from churnwatch_state_monitor.ruleset import load_ruleset

CUTOFFS = (0.05, 0.1, 0.15)  # the small test model's probabilities stay below 0.2
SEVERITY = {"watch": 1, "warning": 2, "critical": 3}


@pytest.mark.parametrize(
    ("probability", "current", "expected"),
    [
        (0.0, 0, 0),
        (0.19, 0, 0),
        (0.2, 0, 1),  # a cut-off reached is the level
        (0.45, 0, 2),
        (0.7, 1, 3),  # up at once, several levels at a time
        (0.39, 2, 2),  # just below warning's cut-off: held (hysteresis)
        (0.33, 2, 2),  # 0.4 x 0.8 = 0.32 is where warning is left
        (0.31, 2, 1),
        (0.1, 3, 0),  # far below: straight down
        (0.17, 1, 1),  # watch is left below 0.16
        (0.15, 1, 0),
    ],
)
def test_level_from_probability_with_hysteresis(
    probability: float, current: int, expected: int
) -> None:
    got = model_level(probability, current, cutoffs=(0.2, 0.4, 0.7), hysteresis=0.2)
    assert got == expected


def test_without_hysteresis_the_level_follows_the_cutoffs() -> None:
    assert model_level(0.39, 2, cutoffs=(0.2, 0.4, 0.7), hysteresis=0.0) == 1


@pytest.mark.parametrize("text", ["-0.1", "1", "1.5", "x", ""])
def test_bad_hysteresis_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"share of the cut-off in \[0, 1\)"):
        parse_hysteresis(text)


def _replay(events: Path, model: ChurnModel, *, flush_every: int) -> tuple[list[dict], dict]:
    monitor = Monitor(ruleset=load_ruleset(None))
    levels = ModelLevels(model=model, cutoffs=CUTOFFS, monitor=monitor)
    out = io.BytesIO()
    with events.open("rb") as fh:
        states, _ = replay(
            lines=fh,
            monitor=monitor,
            alerts_out=out,
            errors=io.StringIO(),
            levels=levels,
            flush_every=flush_every,
        )
    return [orjson.loads(x) for x in out.getvalue().splitlines()], states


def _checkpoints(events: Path, model: ChurnModel) -> dict[tuple[str, int], list[float]]:
    """Every checkpoint's feature row, recorded by a plain hook (no ModelLevels involved)."""
    monitor = Monitor(ruleset=load_ruleset(None))
    seen: dict[tuple[str, int], list[float]] = {}

    def record(customer_id: str, st: CustomerState, at: int) -> None:
        seen[(customer_id, at)] = row(st, at, model.names)

    monitor.checkpoint = record
    monitor.checkpoint_every = DEFAULT_EVERY_DAYS * 86_400  # as ModelLevels sets it
    with events.open("rb") as fh:
        replay(lines=fh, monitor=monitor, alerts_out=io.BytesIO(), errors=io.StringIO())
    return seen


def test_the_models_probability_raises_the_churn_risk_alerts(sim, model_dir: Path) -> None:
    events, _, _ = sim
    model = ChurnModel(model_dir)
    alerts, states = _replay(events, model, flush_every=1)
    churn = [a for a in alerts if a["kind"] == "churn_risk"]
    assert len(churn) >= 20
    checkpoints = _checkpoints(events, model)
    keys = [
        (a["customer_id"], int(datetime.fromisoformat(a["occurred_at"]).timestamp())) for a in churn
    ]
    x = np.array([checkpoints[k] for k in keys], dtype=float)
    probabilities = [round(float(p), 4) for p in model.probabilities(x)]
    for alert, p in zip(churn, probabilities, strict=True):
        # the probability at the checkpoint decides: the level whose cut-off it reached
        assert alert["reasons"][0]["code"] == "model.probability"
        assert alert["observed"] == p
        level = SEVERITY[alert["severity"]]
        assert p >= CUTOFFS[level - 1]
        assert level == 3 or p < CUTOFFS[level]
        assert alert["title"].startswith(f"Churn risk {alert['severity']} (model probability")
    # one open alert per episode: a rise in an open episode supersedes the previous alert; no
    # customer is alerted again at the same or a lower level within the cooldown
    by_customer: dict[str, list[dict]] = defaultdict(list)
    for alert in churn:
        by_customer[alert["customer_id"]].append(alert)
    for series in by_customer.values():
        for before, after in pairwise(series):
            if after["supersedes"] is not None:
                assert after["supersedes"] == before["alert_id"]
            if SEVERITY[after["severity"]] <= SEVERITY[before["severity"]]:
                gap = datetime.fromisoformat(after["occurred_at"]) - datetime.fromisoformat(
                    before["occurred_at"]
                )
                assert gap >= timedelta(hours=168), (before, after)  # the rule set's cooldown
    # the snapshot's level is the level the model last decided (kept in the state)
    assert {st.level for st in states.values()} - {0}


def test_alerts_do_not_depend_on_when_checkpoints_are_scored(sim, model_dir: Path) -> None:
    events, _, _ = sim
    model = ChurnModel(model_dir)
    each, states_each = _replay(events, model, flush_every=1)
    late, states_late = _replay(events, model, flush_every=10**9)  # all at the end
    assert sorted(orjson.dumps(a) for a in each) == sorted(orjson.dumps(a) for a in late)
    # the same records (field by field: the cooldown dict's key order may differ, not its content)
    assert {c: st.field_values() for c, st in states_each.items()} == {
        c: st.field_values() for c, st in states_late.items()
    }


def test_levels_rules_keeps_the_rule_alerts_and_bad_hysteresis_exits_2(
    sim, model_dir: Path, tmp_path: Path, capsys
) -> None:
    events, _, _ = sim
    out = tmp_path / "alerts.ndjson"
    argv = [str(events), "--out", str(out), "--model", str(model_dir)]
    assert backtest([*argv, "--levels", "rules"]) == 0
    churn = [
        a for a in map(orjson.loads, out.read_bytes().splitlines()) if a["kind"] == "churn_risk"
    ]
    assert churn and all(a["reasons"][0]["code"] != "model.probability" for a in churn)
    assert backtest([*argv, "--hysteresis", "1.5"]) == 2
    assert "share of the cut-off" in capsys.readouterr().err
