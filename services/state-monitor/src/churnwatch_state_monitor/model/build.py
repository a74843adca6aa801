"""`model train`: events + outcomes -> MODEL_DIR (model, calibration, reference, manifest, card)."""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.model import card
from churnwatch_state_monitor.model.artifact import (
    CALIBRATION_FILE,
    DEFAULT_CUTOFFS,
    MANIFEST_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    calibrate,
    content_version,
)
from churnwatch_state_monitor.model.budget import DISTRIBUTION, score_distribution
from churnwatch_state_monitor.model.features import feature_names
from churnwatch_state_monitor.model.labels import (
    DERIVE,
    DERIVE_RULE,
    FILE_RULE,
    derive_outcomes,
    read_outcomes,
)
from churnwatch_state_monitor.model.metrics import evaluate
from churnwatch_state_monitor.model.replay import load_events, monthly_as_of
from churnwatch_state_monitor.model.train import (
    PARAMS,
    build_dataset,
    build_reference,
    fit,
    time_split,
)


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).date().isoformat()


def _libraries() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("lightgbm", "numpy", "scikit-learn", "churnwatch-state-monitor"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def train_model(
    *,
    events: Path,
    outcomes: str,
    out: Path,
    monitor: Monitor,
    horizon_days: int = 90,
    as_of: list[int] | None = None,
    calibration: str = "isotonic",
    cutoffs: tuple[float, float, float] = DEFAULT_CUTOFFS,
) -> dict[str, Any]:
    """Train, validate and write MODEL_DIR; returns the manifest."""
    started = time.perf_counter()
    history = load_events(events)
    churned = derive_outcomes(history) if outcomes == DERIVE else read_outcomes(Path(outcomes))
    dates = as_of or monthly_as_of(
        first=history.first, last=history.last, horizon_days=horizon_days
    )
    names = feature_names()
    data = build_dataset(
        history=history,
        monitor=monitor,
        as_of=dates,
        names=names,
        outcomes=churned,
        horizon_days=horizon_days,
    )
    features_seconds = time.perf_counter() - started
    split = time_split(data, horizon_days=horizon_days)
    fitted = fit(data, split, names=names, calibration=calibration)
    booster = fitted["booster"]
    prob = np.clip(calibrate(booster.predict(data.x, raw_score=True), fitted["calibration"]), 0, 1)
    t = split.test
    test = evaluate(
        p=prob[t],
        y=data.y[t],
        rule=data.rule[t],
        as_of=data.as_of[t],
        customers=data.customers[t],
        churned_at=data.churned_at[t],
        horizon_days=horizon_days,
        warning=cutoffs[1],
    )
    train_auc = evaluate(
        p=prob[split.train],
        y=data.y[split.train],
        rule=data.rule[split.train],
        as_of=data.as_of[split.train],
        customers=data.customers[split.train],
        churned_at=data.churned_at[split.train],
        horizon_days=horizon_days,
        warning=cutoffs[1],
    )["auc"]
    out.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(out / MODEL_FILE), num_iteration=booster.best_iteration)
    (out / CALIBRATION_FILE).write_bytes(
        orjson.dumps(fitted["calibration"], option=orjson.OPT_INDENT_2)
    )
    reference = build_reference(data, split.train, names=names, scores=prob[split.train])
    (out / REFERENCE_FILE).write_bytes(orjson.dumps(reference))
    gain = booster.feature_importance(importance_type="gain")
    importance = {n: round(float(g), 2) for n, g in zip(names, gain, strict=True)}
    manifest: dict[str, Any] = {
        "version": content_version(out),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events_file": events.name,
        "events": history.count,
        "customers": len(set(data.customers.tolist())),
        "feature_rows": len(data.y),  # labelled point-in-time rows built, before the split
        "features": names,
        "horizon_days": horizon_days,
        "label_rule": DERIVE_RULE if outcomes == DERIVE else FILE_RULE,
        "training_window": {
            "history_start": _iso(history.first),
            "history_end": _iso(history.last),
            "train_as_of": [_iso(d) for d in split.train_dates],
            "validation_as_of": [_iso(d) for d in split.valid_dates],
            "embargo": split.embargo,
        },
        "calibration_method": fitted["calibration"]["method"],
        "cutoffs": list(cutoffs),
        # the validation window's probabilities, so an alert budget can be turned into cut-offs
        DISTRIBUTION: score_distribution(
            p=prob[split.calib | split.test], as_of=data.as_of[split.calib | split.test]
        ),
        "params": PARAMS,
        "best_iteration": fitted["best_iteration"],
        "metrics": {
            "rows": {
                "train": int(split.train.sum()),
                "calibration": int(split.calib.sum()),
                "test": int(t.sum()),
            },
            "train_auc": train_auc,
            "test": test,
        },
        "feature_importance_gain": importance,
        "timing_seconds": {
            "features": round(features_seconds, 2),
            "fit": fitted["fit_seconds"],
            "total": round(time.perf_counter() - started, 2),
        },
        "libraries": _libraries(),
    }
    (out / MANIFEST_FILE).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    pngs = card.charts(out=out, p=prob[t], y=data.y[t], rule=data.rule[t], importance=importance)
    (out / "MODEL_CARD.md").write_text(card.markdown(manifest, pngs), encoding="utf-8")
    return manifest
