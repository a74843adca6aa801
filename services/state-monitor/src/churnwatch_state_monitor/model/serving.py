"""Scoring customer states with a loaded model, shared by the backtest and the worker.

A batch's customers are scored together: one feature matrix, one ``predict`` and one
``pred_contrib`` call. Each scored customer gets one snapshot built from their state at the end of
the batch, carrying ``churn_probability``, ``model_version``, the churn level (with the model's
levels on, ``model/levels.py``, the level the model last decided at a checkpoint, kept in the
state; else the level of this probability) and, for customers at watch or above, the top
reasons. The rule composite stays in ``churn_score``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import orjson

from churnwatch_state_monitor.engine.limits import Limits, limits_of
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.scoring import score_with
from churnwatch_state_monitor.engine.snapshot import snapshot_dict
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.artifact import LEVELS, ChurnModel, Contribution, level_of

TOP_REASONS = 3


class Scorer:
    """A loaded model and the churn-level cut-offs applied to its probability."""

    def __init__(
        self, *, model: ChurnModel, cutoffs: Sequence[float] | None = None, explain: bool = True
    ) -> None:
        self.model = model
        self.cutoffs = tuple(cutoffs) if cutoffs is not None else model.cutoffs
        self.explain = explain
        # model/levels.py owns the state's level: the snapshot shows it rather than re-deriving
        # one from this (later) probability
        self.levels_from_state = False
        self._lim: tuple[Monitor, Limits] | None = None

    @classmethod
    def load(cls, directory: Path, *, cutoffs: Sequence[float] | None = None) -> Scorer:
        """A scorer of the model in ``directory`` (refused with the reason if unusable)."""
        return cls(model=ChurnModel(directory), cutoffs=cutoffs)

    def _limits(self, monitor: Monitor) -> Limits:
        if self._lim is None or self._lim[0] is not monitor:
            self._lim = (monitor, limits_of(monitor.rs))
        return self._lim[1]

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
        # reasons for the customers a manager is shown (watch or above): tree SHAP is the
        # costliest step of scoring, and most of a book is at normal
        shown = [i for i, p in enumerate(probs) if p >= self.cutoffs[0]] if self.explain else []
        reasons: list[list[Contribution]] = [[] for _ in customers]
        if shown:
            explained = self.model.explain(
                [items[i] for i in shown],
                x=x[shown],
                cohorts=[_cohort(customers[i][1]) for i in shown],
                top=TOP_REASONS,
            )
            for i, why in zip(shown, explained, strict=True):
                reasons[i] = why
        lim = self._limits(monitor)
        out: list[tuple[bytes, bytes, float]] = []
        for (customer_id, st, _), p, why in zip(customers, probs, reasons, strict=True):
            snap = snapshot_dict(customer_id, st, score_with(st, lim), lim)
            probability = round(float(p), 4)
            snap["churn_probability"] = probability
            if not self.levels_from_state:
                snap["churn_level"] = LEVELS[level_of(probability, self.cutoffs)]
            snap["model_version"] = self.model.version
            snap["model_reasons"] = [asdict(r) for r in why]
            out.append((customer_id.encode(), orjson.dumps(snap), probability))
        return out


def _cohort(st: CustomerState) -> str:
    return f"{st.segment or '-'}/{st.tier or '-'}"
