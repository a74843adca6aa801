"""`model diff` (alerts added/dropped, AUC change) and `model report` (PSI against training)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from churnwatch_state_monitor.model.artifact import ChurnModel
from churnwatch_state_monitor.model.budget import NAMES
from churnwatch_state_monitor.model.cli import main
from churnwatch_state_monitor.model.drift import psi, reference_of, shares
from tests.model.conftest import AS_OF
from tests.model.test_alert_budget import _achievable


def _run(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return orjson.loads(capsys.readouterr().out)


def test_psi_is_zero_for_the_same_population_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=5000)
    ref = reference_of(base)
    assert psi(ref["shares"], shares(rng.normal(size=5000), ref["edges"])) < 0.02
    assert psi(ref["shares"], shares(rng.normal(loc=1.0, size=5000), ref["edges"])) > 0.25
    with_nan = np.concatenate([base, np.full(5000, np.nan)])  # unknowns: a bin of their own
    assert psi(ref["shares"], shares(with_nan, ref["edges"])) > 0.25


def test_diff_of_a_model_with_itself_changes_nothing(sim, model_dir: Path, capsys) -> None:
    events, outcomes, _ = sim
    got = _run(
        capsys,
        "diff",
        "--events",
        str(events),
        "--live",
        str(model_dir),
        "--candidate",
        str(model_dir),
        "--outcomes",
        str(outcomes),
        "--as-of",
        *AS_OF[-4:],
    )
    assert got["added"] == got["dropped"] == 0 and got["auc_change"] == 0
    assert got["alerts_live"] == got["alerts_candidate"] and got["rows"] > 0


def test_diff_reports_alerts_a_candidate_adds(sim, model_dir: Path, tmp_path: Path, capsys) -> None:
    events, outcomes, _ = sim
    candidate = tmp_path / "cand"
    _run(
        capsys,
        "train",
        str(events),
        "--outcomes",
        str(outcomes),
        "--out",
        str(candidate),
        "--horizon-days",
        "60",
        "--as-of",
        *AS_OF,
        "--calibration",
        "platt",
        "--cutoffs",
        "0.01,0.02,0.03",
    )
    got = _run(
        capsys,
        "diff",
        "--events",
        str(events),
        "--live",
        str(model_dir),
        "--candidate",
        str(candidate),
        "--outcomes",
        str(outcomes),
        "--as-of",
        *AS_OF[-4:],
    )
    assert got["candidate"] != got["live"]
    assert got["added"] > 0 and got["alerts_candidate"] > got["alerts_live"]
    assert got["added"] - got["dropped"] == got["alerts_candidate"] - got["alerts_live"]
    assert isinstance(got["auc_change"], float)


def test_diff_with_a_budget_judges_both_models_at_the_same_alert_volume(
    sim, model_dir: Path, tmp_path: Path, capsys
) -> None:
    """A candidate whose manifest cut-offs are far lower alerts far more, in a plain diff; under
    one alert budget each model's warning comes from its own validation distribution, as the
    worker and its shadow apply it, so the diff compares the two at the same volume."""
    events, outcomes, _ = sim
    candidate = tmp_path / "cand"
    train = ["train", str(events), "--outcomes", str(outcomes), "--out", str(candidate)]
    _run(capsys, *train, "--horizon-days", "60", "--as-of", *AS_OF,
         "--calibration", "platt", "--cutoffs", "0.01,0.02,0.03")  # fmt: skip
    steps = _achievable(ChurnModel(model_dir))  # shares the live model's coarse steps can meet
    budget = ",".join(f"{n}={s}" for n, (_, s) in zip(NAMES, steps[-3:], strict=True))
    diff = ["diff", "--events", str(events), "--live", str(model_dir), "--candidate",
            str(candidate), "--as-of", *AS_OF[-4:]]  # fmt: skip
    plain = _run(capsys, *diff)
    budgeted = _run(capsys, *diff, "--model-budget", budget)
    assert plain["warning_from"] == "manifest" and budgeted["warning_from"] == "budget"
    assert plain["warning_cutoff_candidate"] == 0.02
    assert budgeted["warning_cutoff_candidate"] > 0.02
    assert budgeted["alerts_candidate"] < plain["alerts_candidate"]
    with_itself = _run(capsys, *diff[:4], str(model_dir), "--candidate", str(model_dir),
                       "--as-of", *AS_OF[-4:], "--model-budget", budget)  # fmt: skip
    assert with_itself["added"] == with_itself["dropped"] == 0


def test_report_on_the_training_dates_shows_little_drift(sim, model_dir: Path, capsys) -> None:
    events, _, _ = sim
    manifest = orjson.loads((model_dir / "manifest.json").read_bytes())
    got = _run(
        capsys,
        "report",
        "--events",
        str(events),
        "--model",
        str(model_dir),
        "--as-of",
        *manifest["training_window"]["train_as_of"],
    )
    assert set(got["psi"]) == {*manifest["features"], "score"}
    assert got["score_psi"] < 0.1, got["psi"]
    late = _run(
        capsys,
        "report",
        "--events",
        str(events),
        "--model",
        str(model_dir),
        "--as-of",
        "2025-08-25",
    )
    assert max(late["psi"].values()) > max(got["psi"].values())
