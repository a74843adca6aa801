"""The alert budget (issue 16 item 2): cut-offs derived from the share of the book at each level,
on the validation distribution the training stored in the manifest (model/budget.py)."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr
from itertools import combinations, pairwise
from pathlib import Path

import numpy as np
import orjson
import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from structlog.testing import capture_logs

from churnwatch_state_monitor.backtest import main as backtest
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.model.artifact import ChurnModel
from churnwatch_state_monitor.model.budget import (
    GRID,
    NAMES,
    BudgetError,
    cutoffs_for,
    parse_budget,
    resolve_levels,
    share_at_or_above,
)
from churnwatch_state_monitor.model.cli import main as model_cli
from churnwatch_state_monitor.model.labels import read_outcomes
from churnwatch_state_monitor.model.replay import load_events, parse_as_of
from churnwatch_state_monitor.model.train import build_dataset
from churnwatch_state_monitor.ruleset import load_ruleset
from churnwatch_state_monitor.worker.model_hook import ModelHook
from churnwatch_state_monitor.worker.settings import MonitorSettings

from .conftest import AS_OF

BUDGET = "CHURNWATCH_MONITOR_MODEL_BUDGET"
CUTOFFS = "CHURNWATCH_MONITOR_MODEL_CUTOFFS"


def test_a_budget_is_read_level_by_level() -> None:
    budget = parse_budget(" critical=0.02, watch=0.15 ,warning=0.08", where=BUDGET)
    assert budget.shares == (0.15, 0.08, 0.02)
    assert budget.text() == "watch=0.15,warning=0.08,critical=0.02"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "'' is not LEVEL=SHARE"),
        ("watch=0.15,warning=0.08", "critical missing"),
        ("watch=0.15,warning=0.08,critical=0.02,watch=0.1", "watch is given twice"),
        ("watch=0.15,alert=0.08,critical=0.02", "unknown level 'alert'"),
        ("watch=0.15,warning=8%,critical=0.02", "warning's share '8%' is not a number"),
        ("watch=1,warning=0.08,critical=0.02", "watch's share 1 is not in (0, 1)"),
        ("watch=0.15,warning=0.08,critical=0", "critical's share 0 is not in (0, 1)"),
        ("watch=nan,warning=0.08,critical=0.02", "not in (0, 1)"),
        ("watch=0.05,warning=0.08,critical=0.02", "must decrease from watch to critical"),
        ("watch=0.15;warning=0.08", "watch's share '0.15;warning=0.08' is not a number"),
    ],
)
def test_a_malformed_budget_says_what_where_and_what_is_accepted(text: str, problem: str) -> None:
    with pytest.raises(BudgetError) as caught:
        parse_budget(text, where=BUDGET)
    message = str(caught.value)
    assert message.startswith(f"{BUDGET}={text!r}: ")
    assert problem in message
    assert "accepted: watch=SHARE,warning=SHARE,critical=SHARE" in message


def test_share_at_or_above_reads_the_quantile_grid() -> None:
    quantiles = [round(k / GRID, 4) for k in range(GRID + 1)]  # uniform on [0, 1]
    assert share_at_or_above(quantiles, 0.0) == 1.0
    assert share_at_or_above(quantiles, 0.9) == pytest.approx(0.101)  # upper bound: 0.1 + 1/GRID
    assert share_at_or_above(quantiles, 1.01) == 0.0
    cut = cutoffs_for(
        parse_budget("watch=0.2,warning=0.1,critical=0.02", where=BUDGET),
        {"quantiles": quantiles},
        where=BUDGET,
    )
    assert cut == (0.801, 0.901, 0.981)


def test_the_worker_refuses_cutoffs_and_a_budget_together_and_a_malformed_setting() -> None:
    with pytest.raises(ValidationError, match=f"{CUTOFFS} and {BUDGET} are both set"):
        MonitorSettings(
            model_cutoffs="0.2,0.4,0.7", model_budget="watch=0.2,warning=0.1,critical=0.05"
        )
    with pytest.raises(ValidationError, match=f"{BUDGET}='watch=0.2': warning, critical missing"):
        MonitorSettings(model_budget="watch=0.2")
    with pytest.raises(ValidationError, match=f"{CUTOFFS}: cut-offs '0.4,0.2,0.7'"):
        MonitorSettings(model_cutoffs="0.4,0.2,0.7")


def _validation_probabilities(sim, model: ChurnModel) -> np.ndarray:
    """The validation rows' served probabilities, rebuilt from the events (not the manifest)."""
    events, outcomes, _ = sim
    dates = [parse_as_of(d) for d in model.manifest["training_window"]["validation_as_of"]]
    data = build_dataset(
        history=load_events(events),
        monitor=Monitor(ruleset=load_ruleset(None)),
        as_of=dates,
        names=model.names,
        outcomes=read_outcomes(outcomes),
        horizon_days=model.manifest["horizon_days"],
    )
    return np.round(model.probabilities(data.x), 4)


def _achievable(model: ChurnModel) -> list[tuple[float, float]]:
    """(probability, share at or above) of every distinct positive validation probability."""
    quantiles = model.manifest["score_distribution"]["quantiles"]
    return [(v, share_at_or_above(quantiles, v)) for v in sorted(set(quantiles)) if v > 0]


def test_derived_cutoffs_put_the_budgeted_share_of_the_validation_rows_at_each_level(
    sim, model_dir: Path
) -> None:
    model = ChurnModel(model_dir)
    stored = model.manifest["score_distribution"]
    p = _validation_probabilities(sim, model)
    assert stored["rows"] == len(p)
    assert sum(d["rows"] for d in stored["as_of"]) == len(p)
    values = sorted(set(p.tolist()))
    for v in values:  # the stored grid reads the true share within its resolution
        true = float((p >= v).mean())
        assert true <= share_at_or_above(stored["quantiles"], v) <= true + 1 / GRID + 1e-9
    steps = _achievable(model)
    assert len(steps) >= 4, steps  # the test needs a model with a few probability steps
    shares = sorted({s for _, s in steps} | {(a + b) / 2 for (_, a), (_, b) in pairwise(steps)})
    checked = 0
    for low, mid, high in combinations(shares, 3):
        text = f"watch={high},warning={mid},critical={low}"
        try:
            cut = resolve_levels(
                model=model, cutoffs=None, budget=text, cutoffs_name=CUTOFFS, budget_name=BUDGET
            ).cutoffs
        except BudgetError as exc:  # two shares on one calibration step: refused, with why
            assert "give the same cut-off" in str(exc)
            continue
        checked += 1
        for share, c in zip((high, mid, low), cut, strict=True):
            at_or_above = float((p >= c).mean())
            assert at_or_above <= share + 1e-9, (text, c)  # the budget is a cap
            lower = [v for v in values if v < c]
            if lower:  # and tight: the next served probability down would exceed it
                assert float((p >= lower[-1]).mean()) > share - 1 / GRID, (text, c)
    assert checked >= 10


def _budget(steps: list[tuple[float, float]]) -> str:
    """The budget whose levels sit at these three (probability, share) steps."""
    return ",".join(f"{n}={s}" for n, (_, s) in zip(NAMES, steps, strict=True))


def _churn_alerts(path: Path) -> list[dict]:
    alerts = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return [a for a in alerts if a["kind"] == "churn_risk"]


def test_a_tighter_budget_raises_fewer_alerts_in_a_replay(sim, model_dir: Path, tmp_path) -> None:
    events, _, _ = sim
    steps = _achievable(ChurnModel(model_dir))
    loose = _budget(steps[:3])
    tight = _budget(steps[-3:])
    counts = []
    for name, budget in (("loose", loose), ("tight", tight)):
        out = tmp_path / f"{name}.ndjson"
        err = io.StringIO()
        argv = [str(events), "--out", str(out), "--model", str(model_dir), "--model-budget", budget]
        with redirect_stderr(err):
            assert backtest(argv) == 0
        summary = orjson.loads(err.getvalue().strip().splitlines()[-1])
        assert summary["model_cutoffs_from"] == "budget"
        alerts = _churn_alerts(out)
        severities = [a["severity"] for a in alerts]
        counts.append(
            (
                summary["model_cutoffs"],
                len(alerts),
                len({a["customer_id"] for a in alerts}),
                severities,
            )
        )
    (loose_cut, loose_n, loose_customers, _), (tight_cut, tight_n, tight_customers, _) = counts
    assert all(t > lo for t, lo in zip(tight_cut, loose_cut, strict=True))
    assert 0 < tight_n < loose_n
    assert tight_customers <= loose_customers


def test_cutoffs_and_a_budget_together_are_refused_by_the_backtest(sim, model_dir: Path) -> None:
    events, _, _ = sim
    err = io.StringIO()
    argv = [str(events), "--model", str(model_dir), "--cutoffs", "0.05,0.1,0.15"]
    with redirect_stderr(err):
        assert backtest([*argv, "--model-budget", "watch=0.5,warning=0.2,critical=0.1"]) == 2
    assert "--cutoffs and --model-budget are both set" in err.getvalue()


def test_an_old_model_without_the_distribution_refuses_a_budget(model_dir: Path, tmp_path) -> None:
    old = tmp_path / "old"
    shutil.copytree(model_dir, old)
    manifest = orjson.loads((old / "manifest.json").read_bytes())
    del manifest["score_distribution"]
    (old / "manifest.json").write_bytes(orjson.dumps(manifest))
    assert ChurnModel(old).version == manifest["version"]  # still a usable model with cut-offs
    settings = MonitorSettings(model_dir=old, model_budget="watch=0.5,warning=0.2,critical=0.1")
    with pytest.raises(
        BudgetError, match=f"{BUDGET}: the model in .* was trained before the alert"
    ):
        ModelHook.from_settings(
            settings=settings,
            monitor=Monitor(ruleset=load_ruleset(None)),
            registry=CollectorRegistry(),
        )
    err = io.StringIO()
    with redirect_stderr(err):
        code = model_cli(
            [
                "report",
                "--events",
                "none.ndjson",
                "--model",
                str(old),
                "--model-budget",
                "watch=0.5,warning=0.2,critical=0.1",
            ]
        )
    assert code == 2
    assert "has no score_distribution" in err.getvalue()
    assert "retrain it" in err.getvalue()


def test_the_worker_logs_the_budgets_cutoffs_at_start(model_dir: Path) -> None:
    steps = _achievable(ChurnModel(model_dir))
    budget = _budget(steps[-3:])
    settings = MonitorSettings(model_dir=model_dir, model_budget=budget)
    with capture_logs() as logs:
        hook = ModelHook.from_settings(
            settings=settings,
            monitor=Monitor(ruleset=load_ruleset(None)),
            registry=CollectorRegistry(),
        )
    assert hook is not None and hook.live is not None
    assert hook.live.cutoffs == tuple(v for v, _ in steps[-3:])
    assert hook.levels is not None and hook.levels.cutoffs == hook.live.cutoffs
    (record,) = [r for r in logs if r["event"] == "model_levels"]
    assert record["source"] == "budget"
    assert [lv["cutoff"] for lv in record["levels"]] == list(hook.live.cutoffs)
    assert [lv["validation_share"] for lv in record["levels"]] == [s for _, s in steps[-3:]]


def test_model_report_shows_the_cutoffs_of_a_budget(sim, model_dir: Path, capsys) -> None:
    events, _, _ = sim
    steps = _achievable(ChurnModel(model_dir))
    budget = _budget(steps[-3:])
    argv = ["report", "--events", str(events), "--model", str(model_dir), "--as-of", AS_OF[-1]]
    assert model_cli([*argv, "--model-budget", budget]) == 0
    levels = orjson.loads(capsys.readouterr().out)["churn_levels"]
    assert (
        levels["source"] == "budget" and levels["budget"] == parse_budget(budget, where="").text()
    )
    for lv, (v, share) in zip(levels["levels"], steps[-3:], strict=True):
        assert lv["cutoff"] == v and lv["validation_share"] == share
        assert 0.0 <= lv["share_now"] <= 1.0
    card = (model_dir / "MODEL_CARD.md").read_text()
    assert "## Churn levels and the alert budget" in card
