"""Scoring customer states with a loaded model, shared by the backtest and the worker.

A batch's customers are scored together: one feature matrix, one ``predict`` and one
``pred_contrib`` call. Each scored customer gets one snapshot built from their state at the end of
the batch, carrying ``churn_probability``, ``model_version``, the top reasons and the churn level
that follows from the probability (the rule composite stays in ``churn_score``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import orjson

from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.artifact import LEVELS, ChurnModel, level_of

TOP_REASONS = 3


class Scorer:
    """A loaded model and the churn-level cut-offs applied to its probability."""

    def __init__(
        self, *, model: ChurnModel, cutoffs: Sequence[float] | None = None, explain: bool = True
    ) -> None:
        self.model = model
        self.cutoffs = tuple(cutoffs) if cutoffs is not None else model.cutoffs
        self.explain = explain

    @classmethod
    def load(cls, directory: Path, *, cutoffs: Sequence[float] | None = None) -> Scorer:
        """A scorer of the model in ``directory`` (refused with the reason if unusable)."""
        return cls(model=ChurnModel(directory), cutoffs=cutoffs)

    @property
    def version(self) -> str:
        return self.model.version

    def probabilities(self, items: Sequence[tuple[CustomerState, int]]) -> np.ndarray:
        """Calibrated probabilities of (state, as-of) pairs: one predict call."""
        return self.model.probabilities(self.model.matrix(items))

    def snapshots(
        self,
        *,
        monitor: Monitor,
        customers: Sequence[tuple[str, CustomerState, int]],
        x: np.ndarray | None = None,
    ) -> list[tuple[bytes, bytes, float]]:
        """(key, snapshot bytes, probability) for each (customer id, state, as-of); ``x``: their
        feature rows when the caller has them already."""
        if not customers:
            return []
        items = [(st, at) for _, st, at in customers]
        if x is None:
            x = self.model.matrix(items)
        probs = self.model.probabilities(x)
        reasons = (
            self.model.explain(
                items, x=x, cohorts=[_cohort(st) for _, st, _ in customers], top=TOP_REASONS
            )
            if self.explain
            else [[] for _ in customers]
        )
        out: list[tuple[bytes, bytes, float]] = []
        for (customer_id, st, _), p, why in zip(customers, probs, reasons, strict=True):
            snap = orjson.loads(monitor.snapshot_bytes(customer_id, st))
            probability = round(float(p), 4)
            snap["churn_probability"] = probability
            snap["churn_level"] = LEVELS[level_of(probability, self.cutoffs)]
            snap["model_version"] = self.model.version
            snap["model_reasons"] = [asdict(r) for r in why]
            out.append((customer_id.encode(), orjson.dumps(snap), probability))
        return out


def _cohort(st: CustomerState) -> str:
    return f"{st.segment or '-'}/{st.tier or '-'}"
