"""`model train`: MODEL_DIR contents, version = content hash, time-based split, bad input refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from churnwatch_state_monitor.model.artifact import ChurnModel, ModelDirError, content_version
from churnwatch_state_monitor.model.cli import main
from churnwatch_state_monitor.model.labels import OutcomesError, label, read_outcomes

DAY = 86_400


def test_model_dir_holds_model_manifest_and_card(model_dir: Path) -> None:
    for name in ("model.txt", "calibration.json", "reference.json", "manifest.json",
                 "MODEL_CARD.md", "roc.png", "calibration.png", "feature_importance.png",
                 "score_distribution.png"):  # fmt: skip
        assert (model_dir / name).stat().st_size > 0, name
    manifest = orjson.loads((model_dir / "manifest.json").read_bytes())
    assert manifest["version"] == content_version(model_dir)
    assert manifest["horizon_days"] == 60
    assert (model_dir / "model.txt").read_text().startswith("tree")  # LightGBM text format
    window = manifest["training_window"]
    assert max(window["train_as_of"]) < min(window["validation_as_of"])  # time-based
    test = manifest["metrics"]["test"]
    assert test["positives"] > 0 and 0.5 < test["auc"] <= 1 and 0 <= test["ece"] <= 1
    assert {"lightgbm", "numpy", "scikit-learn", "python"} <= set(manifest["libraries"])
    card = (model_dir / "MODEL_CARD.md").read_text()
    assert manifest["version"] in card and "![roc.png](roc.png)" in card
    assert f"| auc | {test['auc']} |" in card


def test_loaded_model_scores_probabilities(model_dir: Path) -> None:
    model = ChurnModel(model_dir)
    x = np.full((3, len(model.names)), np.nan)
    p = model.probabilities(x)
    assert p.shape == (3,) and ((p >= 0) & (p <= 1)).all()


def test_a_changed_model_file_is_refused(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    copy.mkdir()
    for f in model_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    (copy / "calibration.json").write_text('{"method": "platt", "a": 1.0, "b": 0.0}')
    with pytest.raises(ModelDirError, match="do not match the manifest"):
        ChurnModel(copy)


def test_labels_positive_within_horizon_and_dropped_after_churn() -> None:
    t = 1_000 * DAY
    assert label(churned_at=None, as_of=t, horizon_days=90) == 0
    assert label(churned_at=t + 90 * DAY, as_of=t, horizon_days=90) == 1
    assert label(churned_at=t + 91 * DAY, as_of=t, horizon_days=90) == 0
    assert label(churned_at=t, as_of=t, horizon_days=90) is None


def test_outcomes_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "o.csv"
    bad.write_text("customer_id,churned_at\nC1,2025-02-30\n")
    with pytest.raises(OutcomesError, match=r"o.csv:2: churned_at '2025-02-30'"):
        read_outcomes(bad)
    bad.write_text("id,date\nC1,2025-02-01\n")
    with pytest.raises(OutcomesError, match="header must be 'customer_id,churned_at'"):
        read_outcomes(bad)
    ok = tmp_path / "ok.csv"
    ok.write_text("customer_id,churned_at\nC1,\nC2,2025-02-01\n")
    assert read_outcomes(ok) == {"C2": 1738368000}


def test_cli_refuses_bad_input_with_exit_2(sim, tmp_path: Path, capsys) -> None:
    events, _, _ = sim
    missing = tmp_path / "none.csv"
    assert main(["train", str(events), "--outcomes", str(missing), "--out", str(tmp_path)]) == 2
    assert "cannot read outcomes" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", str(events), "--outcomes", "derive", "--out", "x", "--as-of", "June"])
    assert exc.value.code == 2
    assert "is not an ISO date" in capsys.readouterr().err
