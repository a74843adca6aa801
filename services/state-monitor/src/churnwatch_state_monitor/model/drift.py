"""Population stability index (PSI) of each feature and of the score against the training window.

The reference keeps, per feature, decile edges of the training window and the share of rows in each
bin (unknown values are a bin of their own). PSI = sum((a - e) * ln(a / e)); the usual reading:
below 0.1 stable, 0.1-0.25 moderate shift, above 0.25 a shift worth retraining for.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

_FLOOR: Final = 1e-4  # an empty bin would make the logarithm infinite
BINS: Final = 10


def reference_of(values: np.ndarray) -> dict[str, Any]:
    """Decile edges and bin shares of one column (NaN: its own bin)."""
    known = values[~np.isnan(values)]
    edges = (
        np.unique(np.quantile(known, np.linspace(0, 1, BINS + 1)[1:-1])).tolist()
        if len(known)
        else []
    )
    return {"edges": edges, "shares": shares(values, edges)}


def shares(values: np.ndarray, edges: list[float]) -> list[float]:
    """Share of values in each bin: (-inf, e0], (e0, e1], ..., (e_last, inf), then NaN."""
    n = len(values)
    if not n:
        return [0.0] * (len(edges) + 2)
    nan = np.isnan(values)
    idx = np.searchsorted(np.asarray(edges, dtype=float), values[~nan], side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1).tolist()
    return [c / n for c in counts] + [float(nan.sum()) / n]


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two share vectors over the same bins."""
    e = np.maximum(np.asarray(expected, dtype=float), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def drift_report(
    *, reference: dict[str, Any], x: np.ndarray, names: list[str], scores: np.ndarray
) -> dict[str, float]:
    """PSI of every feature column of ``x`` and of ``scores`` against the stored reference."""
    out: dict[str, float] = {}
    for j, name in enumerate(names):
        ref = reference["features"][name]
        out[name] = round(psi(ref["shares"], shares(x[:, j], ref["edges"])), 4)
    ref = reference["score"]
    out["score"] = round(psi(ref["shares"], shares(scores, ref["edges"])), 4)
    return out
