"""A trained model directory: load it, score states (one predict call per batch), explain scores.

MODEL_DIR holds ``model.txt`` (LightGBM text format), ``calibration.json`` (isotonic or Platt map
from the raw score to a probability), ``reference.json`` (training-window distributions for drift
and peer medians for explanations) and ``manifest.json`` (version = hash of those three files).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import orjson

from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.features import REGISTRY, row

MODEL_FILE: Final = "model.txt"
CALIBRATION_FILE: Final = "calibration.json"
REFERENCE_FILE: Final = "reference.json"
MANIFEST_FILE: Final = "manifest.json"
HASHED: Final = (MODEL_FILE, CALIBRATION_FILE, REFERENCE_FILE)
DEFAULT_CUTOFFS: Final = (0.2, 0.4, 0.7)  # watch, warning, critical
LEVELS: Final = ("normal", "watch", "warning", "critical")


class ModelDirError(ValueError):
    """MODEL_DIR is missing a file, or names a feature this build does not know."""


def content_version(directory: Path) -> str:
    """The model's version: a hash of the files that decide its scores."""
    digest = hashlib.sha256()
    for name in HASHED:
        digest.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    return "m-" + digest.hexdigest()[:16]


def calibrate(raw: np.ndarray, calibration: dict[str, Any]) -> np.ndarray:
    """Map raw scores (log-odds) to probabilities with the stored calibration."""
    if calibration["method"] == "platt":
        return 1.0 / (1.0 + np.exp(-(calibration["a"] * raw + calibration["b"])))
    xs = np.asarray(calibration["x"], dtype=float)
    ys = np.asarray(calibration["y"], dtype=float)
    return np.interp(raw, xs, ys)  # clips outside the fitted range, as sklearn's isotonic does


def level_of(probability: float, cutoffs: Sequence[float]) -> int:
    """0 normal .. 3 critical from the probability and the (watch, warning, critical) cut-offs."""
    return sum(1 for c in cutoffs if probability >= c)


def parse_cutoffs(text: str) -> tuple[float, float, float]:
    """'0.2,0.4,0.7' -> the three cut-offs (increasing, in (0, 1])."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not 0 < values[0] < values[1] < values[2] <= 1:
        raise ValueError(
            f"cut-offs {text!r}: give three increasing probabilities in (0, 1] for watch, warning "
            "and critical, e.g. 0.2,0.4,0.7"
        )
    return values[0], values[1], values[2]


@dataclass(slots=True)
class Contribution:
    """One feature's push on a customer's score, worded for a relationship manager."""

    feature: str
    contribution: float  # log-odds
    value: float | None
    baseline: float | None  # the customer's own usual value, where the state keeps one
    peers: float | None  # the median of the customer's peer cohort in the training window
    text: str


class ChurnModel:
    """A loaded MODEL_DIR."""

    def __init__(self, directory: Path) -> None:
        import lightgbm  # heavy: imported only where a model is used

        for name in (*HASHED, MANIFEST_FILE):
            if not (directory / name).is_file():
                raise ModelDirError(
                    f"{directory}: {name} is missing (train one with `model train`)"
                )
        self.directory = directory
        self.manifest: dict[str, Any] = orjson.loads((directory / MANIFEST_FILE).read_bytes())
        self.calibration = orjson.loads((directory / CALIBRATION_FILE).read_bytes())
        self.reference: dict[str, Any] = orjson.loads((directory / REFERENCE_FILE).read_bytes())
        self.version = content_version(directory)
        if self.version != self.manifest.get("version"):
            raise ModelDirError(
                f"{directory}: files do not match the manifest's version "
                f"{self.manifest.get('version')!r} (computed {self.version})"
            )
        self.names: list[str] = list(self.manifest["features"])
        unknown = [n for n in self.names if n not in REGISTRY]
        if unknown:
            raise ModelDirError(f"{directory}: features unknown to this build: {unknown}")
        self.booster = lightgbm.Booster(model_file=str(directory / MODEL_FILE))
        self.cutoffs: tuple[float, ...] = tuple(self.manifest.get("cutoffs", DEFAULT_CUTOFFS))

    def matrix(self, items: Sequence[tuple[CustomerState, int]]) -> np.ndarray:
        """Feature rows of (state, as-of) pairs."""
        return np.array([row(st, at, self.names) for st, at in items], dtype=float).reshape(
            len(items), len(self.names)
        )

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Raw scores (log-odds), one predict call for the whole matrix."""
        if not len(x):
            return np.zeros(0)
        return np.asarray(self.booster.predict(x, raw_score=True), dtype=float)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Calibrated churn probabilities in [0, 1]."""
        return np.clip(calibrate(self.raw(x), self.calibration), 0.0, 1.0)

    def score(self, items: Sequence[tuple[CustomerState, int]]) -> list[float]:
        """Calibrated probabilities of (state, as-of) pairs, rounded for the wire."""
        return [round(float(p), 4) for p in self.probabilities(self.matrix(items))]

    def explain(
        self,
        items: Sequence[tuple[CustomerState, int]],
        *,
        x: np.ndarray | None = None,
        cohorts: Sequence[str] | None = None,
        top: int = 3,
    ) -> list[list[Contribution]]:
        """Top features raising each customer's score (tree SHAP, one call for the batch)."""
        if not items:
            return []
        if x is None:
            x = self.matrix(items)
        contrib = np.asarray(self.booster.predict(x, pred_contrib=True), dtype=float)
        peers = self.reference.get("peers", {})
        out: list[list[Contribution]] = []
        for i, (st, at) in enumerate(items):
            cohort = peers.get(cohorts[i]) if cohorts else None
            order = np.argsort(-contrib[i, : len(self.names)])
            reasons = []
            for j in order[:top]:
                if contrib[i, j] <= 0:
                    break
                name = self.names[j]
                feature = REGISTRY[name]
                value = _finite(x[i, j])
                base = _finite(feature.baseline(st, at)) if feature.baseline else None
                peer = (cohort or peers.get("*", {})).get(name)
                reasons.append(
                    Contribution(
                        feature=name,
                        contribution=round(float(contrib[i, j]), 4),
                        value=value,
                        baseline=base,
                        peers=peer,
                        text=wording(
                            label=feature.label,
                            unit=feature.unit,
                            value=value,
                            baseline=base,
                            peers=peer,
                        ),
                    )
                )
            out.append(reasons)
        return out


def _finite(v: float) -> float | None:
    return None if v is None or math.isnan(v) else round(float(v), 2)


def _fmt(v: float, unit: str) -> str:
    if unit == "x":
        return f"{v:.0%}"
    whole = abs(v) >= 100 or unit in ("days", "weeks", "CNY")
    text = f"{v:,.0f}" if whole else f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip()


def wording(
    *, label: str, unit: str, value: float | None, baseline: float | None, peers: float | None
) -> str:
    """'card spending, last 4 weeks 300 CNY, usually 1,200 CNY; peers 900 CNY'."""
    text = f"{label}: {'unknown' if value is None else _fmt(value, unit)}"
    extra = []
    if baseline is not None:
        extra.append(f"usually {_fmt(baseline, unit)}")
    if peers is not None:
        extra.append(f"peers {_fmt(peers, unit)}")
    return text + (f" ({'; '.join(extra)})" if extra else "")
