"""Training: point-in-time rows, a time-based split, LightGBM with early stopping, calibration.

Split (documented in the manifest): the latest third of the as-of dates is the validation window;
training uses the earlier dates whose whole horizon ends by the window's start (so no training
label looks into it: what a bank would know on that day). Validation customers are split in two by
a hash of their id: one half stops the boosting early and fits the calibration, the other half
measures the model (AUC, ECE, lead time). Nothing is measured on rows that fitted anything.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from churnwatch_state_monitor.engine.buckets import DAY
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.model.drift import reference_of
from churnwatch_state_monitor.model.labels import label
from churnwatch_state_monitor.model.replay import History, sample_features

PARAMS: dict[str, Any] = {
    "objective": "binary",
    # shallow, well-populated leaves: on the realistic simulator the validation AUC rose and the
    # gap to the training AUC shrank against 15 leaves of 20 rows (a later window differs)
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": 16,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 2,
    "verbose": -1,
}
MAX_ROUNDS = 2000
EARLY_STOP = 50


class TrainingError(ValueError):
    """The data cannot train a model (too few dates, no positives, ...)."""


@dataclass(slots=True)
class Dataset:
    x: np.ndarray
    y: np.ndarray
    as_of: np.ndarray
    customers: np.ndarray
    rule: np.ndarray
    cohorts: np.ndarray
    churned_at: np.ndarray  # epoch s, 0 = stayed


def build_dataset(
    *,
    history: History,
    monitor: Monitor,
    as_of: list[int],
    names: list[str],
    outcomes: dict[str, int],
    horizon_days: int,
) -> Dataset:
    """Labelled point-in-time rows (rows after a customer's churn dropped)."""
    # one float64 block per as-of date (the sample's own array, labelled rows kept): no Python
    # float per feature value, so memory is the rows' 8 bytes a value
    xs: list[np.ndarray] = []
    ys: list[int] = []
    ts: list[int] = []
    cs: list[str] = []
    rs: list[float] = []
    cohorts: list[str] = []
    churns: list[int] = []
    for sample in sample_features(history=history, monitor=monitor, as_of=as_of, names=names):
        keep: list[int] = []
        for i, (cid, rule, cohort) in enumerate(
            zip(sample.customer_ids, sample.rule_scores, sample.segments, strict=True)
        ):
            y = label(churned_at=outcomes.get(cid), as_of=sample.as_of, horizon_days=horizon_days)
            if y is None:
                continue
            keep.append(i)
            ys.append(y)
            ts.append(sample.as_of)
            cs.append(cid)
            rs.append(rule)
            cohorts.append(cohort)
            churns.append(outcomes.get(cid, 0))
        xs.append(sample.rows[keep] if len(keep) < len(sample.rows) else sample.rows)
    return Dataset(
        x=np.concatenate(xs) if xs else np.empty((0, len(names)), dtype=float),
        y=np.array(ys, dtype=int),
        as_of=np.array(ts, dtype=np.int64),
        customers=np.array(cs, dtype=object),
        rule=np.array(rs, dtype=float),
        cohorts=np.array(cohorts, dtype=object),
        churned_at=np.array(churns, dtype=np.int64),
    )


@dataclass(slots=True)
class Split:
    train: np.ndarray  # boolean masks over the dataset rows
    calib: np.ndarray
    test: np.ndarray
    train_dates: list[int]
    valid_dates: list[int]
    embargo: bool


def time_split(data: Dataset, *, horizon_days: int) -> Split:
    """Earlier as-of dates train, the latest third validates (see the module docstring)."""
    dates = sorted(set(data.as_of.tolist()))
    if len(dates) < 2:
        raise TrainingError(
            f"need at least 2 as-of dates for a time-based validation, got {len(dates)} "
            "(give more --as-of dates or a longer history)"
        )
    n_valid = max(1, round(len(dates) / 3))
    valid = dates[-n_valid:]
    start = valid[0]
    train = [t for t in dates if t + horizon_days * DAY <= start]
    embargo = bool(train)
    if not train:  # a short history: keep the time order, accept labels overlapping the window
        train = [t for t in dates if t < start]
    in_valid = np.isin(data.as_of, valid)
    half = np.array([zlib.crc32(c.encode()) % 2 == 0 for c in data.customers], dtype=bool)
    return Split(
        train=np.isin(data.as_of, train),
        calib=in_valid & half,
        test=in_valid & ~half,
        train_dates=train,
        valid_dates=valid,
        embargo=embargo,
    )


def fit(data: Dataset, split: Split, *, names: list[str], calibration: str) -> dict[str, Any]:
    """Fit the booster (early stopping on the calibration half) and the calibration map."""
    import lightgbm

    for part, mask in (("training", split.train), ("validation", split.calib | split.test)):
        if data.y[mask].sum() == 0 or data.y[mask].sum() == mask.sum():
            raise TrainingError(
                f"the {part} rows have a single class ({int(data.y[mask].sum())} positives of "
                f"{int(mask.sum())}): a churn model needs both leavers and stayers in each window"
            )
    started = time.perf_counter()
    train_set = lightgbm.Dataset(
        data.x[split.train], data.y[split.train], feature_name=names, free_raw_data=False
    )
    calib_set = lightgbm.Dataset(data.x[split.calib], data.y[split.calib], reference=train_set)
    booster = lightgbm.train(
        PARAMS,
        train_set,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[calib_set],
        valid_names=["calibration"],
        callbacks=[lightgbm.early_stopping(EARLY_STOP, verbose=False)],
    )
    raw_calib = np.asarray(booster.predict(data.x[split.calib], raw_score=True), dtype=float)
    cal = fit_calibration(raw_calib, data.y[split.calib], method=calibration)
    return {
        "booster": booster,
        "calibration": cal,
        "best_iteration": booster.best_iteration,
        "fit_seconds": round(time.perf_counter() - started, 3),
    }


def fit_calibration(raw: np.ndarray, y: np.ndarray, *, method: str) -> dict[str, Any]:
    """Isotonic (step map, stored as its knots) or Platt (logistic on the raw score)."""
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y)
        return {"method": "platt", "a": float(lr.coef_[0][0]), "b": float(lr.intercept_[0])}
    if method != "isotonic":
        raise TrainingError(f"calibration {method!r}: accepted are isotonic, platt")
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    return {
        "method": "isotonic",
        "x": [float(v) for v in iso.X_thresholds_],
        "y": [float(v) for v in iso.y_thresholds_],
    }


def build_reference(
    data: Dataset, mask: np.ndarray, *, names: list[str], scores: np.ndarray
) -> dict[str, Any]:
    """Training-window distributions (drift) and peer-cohort medians (explanations)."""
    x = data.x[mask]
    peers: dict[str, dict[str, float]] = {"*": _medians(x, names)}
    cohorts = data.cohorts[mask]
    for cohort in sorted(set(cohorts.tolist())):
        rows = x[cohorts == cohort]
        if len(rows) >= 20:  # a cohort too small says little about peers
            peers[cohort] = _medians(rows, names)
    return {
        "features": {n: reference_of(x[:, j]) for j, n in enumerate(names)},
        "score": reference_of(scores),
        "peers": peers,
    }


def _medians(x: np.ndarray, names: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for j, n in enumerate(names):
        col = x[:, j][~np.isnan(x[:, j])]
        if len(col):
            out[n] = round(float(np.median(col)), 2)
    return out
