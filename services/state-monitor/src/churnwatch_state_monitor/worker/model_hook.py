"""The churn model in the worker: live scores on snapshots, a shadow model to metrics only, drift.

With ``CHURNWATCH_MONITOR_MODEL_DIR`` every customer a batch changed (and every customer the
silence tick judged) is scored once per batch, at the end of the batch, with one predict call for
all of them; each gets one snapshot built from that final state (replacing the per-event
snapshots of the batch), carrying ``churn_probability``, ``model_version``, the top reasons, and the
churn level. With ``CHURNWATCH_MONITOR_MODEL_LEVELS=model`` (the default) the model owns the level
and the churn-risk alerts (``model/levels.py``): the engine's checkpoints of the batch are scored
in one more predict call before the snapshots, and the rises become the batch's churn-risk
alerts; with ``rules`` the rule composite raises them and each gets the model's top reasons
(``model/alert_reasons.py``) from the same end-of-batch state. Batch customers are scored at their newest event's time, tick
customers at their partition's event-time watermark (so silence raises their risk).

With ``CHURNWATCH_MONITOR_SHADOW_MODEL_DIR`` a candidate scores the same customers: its
probabilities go to Prometheus and to the shadow topic, never into snapshots or alerts.

Drift: the feature rows of the latest scored customers (a bounded window) are compared with the
training window's distribution (population stability index), refreshed at most once a minute.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import orjson
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.alert_reasons import explain_alerts
from churnwatch_state_monitor.model.artifact import LEVELS, ChurnModel, level_of
from churnwatch_state_monitor.model.budget import resolve_levels
from churnwatch_state_monitor.model.drift import drift_report
from churnwatch_state_monitor.model.levels import ModelLevels
from churnwatch_state_monitor.model.serving import Scorer
from churnwatch_state_monitor.worker.settings import MonitorSettings
from churnwatch_state_monitor.worker.work import Work

SHADOW_SUFFIX: Final = "customer-state-shadow.v1"
DRIFT_WINDOW: Final = 20_000  # feature rows kept for the PSI
DRIFT_EVERY_S: Final = 60.0
_BUCKETS: Final = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
_CUTOFFS: Final = "CHURNWATCH_MONITOR_MODEL_CUTOFFS"
_BUDGET: Final = "CHURNWATCH_MONITOR_MODEL_BUDGET"

log = structlog.get_logger("churnwatch.state_monitor.model")


class ModelHook:
    """Live and shadow scorers of one worker, with their metrics."""

    def __init__(
        self,
        *,
        live: Scorer | None,
        shadow: Scorer | None,
        monitor: Monitor,
        registry: CollectorRegistry,
        levels: ModelLevels | None = None,
    ) -> None:
        self.live, self.shadow, self.monitor, self.levels = live, shadow, monitor, levels
        if levels is not None and live is not None:
            live.levels_from_state = True
        self.model_alerts = Counter(
            "churnwatch_monitor_model_alerts_total",
            "Churn-risk alerts raised by the live model's level rises, by level",
            ["level"],
            registry=registry,
        )
        self.scored = Counter(
            "churnwatch_monitor_model_scored_total",
            "Customers scored by the churn model, by role (live, shadow)",
            ["role"],
            registry=registry,
        )
        self.probability = Histogram(
            "churnwatch_monitor_model_probability",
            "Churn probabilities given, by role",
            ["role"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.at_warning = Counter(
            "churnwatch_monitor_model_warning_total",
            "Scores at warning or above, by role (shadow: alerts the candidate would raise)",
            ["role"],
            registry=registry,
        )
        self.psi = Gauge(
            "churnwatch_monitor_model_psi",
            "Population stability index against the training window (feature or 'score')",
            ["role", "feature"],
            registry=registry,
        )
        self.info = Gauge(
            "churnwatch_monitor_model_info",
            "The loaded churn models (value 1), by role and version",
            ["role", "version"],
            registry=registry,
        )
        self._windows: dict[str, deque[tuple[list[float], float]]] = {}
        self._drift_at = 0.0
        for role, scorer in (("live", live), ("shadow", shadow)):
            if scorer is not None:
                self.info.labels(role=role, version=scorer.version).set(1)
                self._windows[role] = deque(maxlen=DRIFT_WINDOW)

    @classmethod
    def from_settings(
        cls, *, settings: MonitorSettings, monitor: Monitor, registry: CollectorRegistry
    ) -> ModelHook | None:
        """None without a model directory; a clear error if one is unusable."""
        if settings.model_dir is None and settings.shadow_model_dir is None:
            return None
        live = (
            cls._scorer(settings, Path(settings.model_dir), "live") if settings.model_dir else None
        )
        shadow = (
            cls._scorer(settings, Path(settings.shadow_model_dir), "shadow")
            if settings.shadow_model_dir
            else None
        )
        levels = (
            ModelLevels(
                model=live.model,
                cutoffs=live.cutoffs,
                monitor=monitor,
                hysteresis=settings.model_hysteresis,
                every_days=settings.model_level_days,
            )
            if live is not None and settings.model_levels == "model"
            else None
        )
        return cls(live=live, shadow=shadow, monitor=monitor, registry=registry, levels=levels)

    @staticmethod
    def _scorer(settings: MonitorSettings, directory: Path, role: str) -> Scorer:
        """A model's scorer with its level cut-offs (logged with the validation shares they give).

        The shadow takes the same budget on its own distribution (the alerts it would raise at
        the same volume), else its manifest's cut-offs."""
        model = ChurnModel(directory)
        live = role == "live"
        levels = resolve_levels(
            model=model,
            cutoffs=settings.model_cutoffs if live else None,
            budget=settings.model_budget,
            cutoffs_name=_CUTOFFS,
            budget_name=_BUDGET,
        )
        log.info(
            "model_levels",
            role=role,
            model_version=model.version,
            **levels.record(model=model, hysteresis=settings.model_hysteresis),
        )
        return Scorer(model=model, cutoffs=levels.cutoffs, explain=live)

    def rescore(self, work: Work) -> None:
        """Score the batch's changed and judged customers (see the module docstring)."""
        if self.levels is not None:
            raised = self.levels.flush(current=work.states.get, now=datetime.now(UTC))
            for alert in raised:
                work.alerts.append((alert.customer_id.encode(), alert.model_dump_json().encode()))
                self.model_alerts.labels(level=alert.severity.value).inc()
        customers: dict[str, tuple[CustomerState, int]] = {}
        for customer_id in work.dirty:
            st = work.states[customer_id]
            customers[customer_id] = (st, st.newest)
        for key, _ in work.snapshots:  # redelivered customers re-publish too
            customer_id = key.decode()
            known = work.states.get(customer_id)
            if known is not None and customer_id not in customers:
                customers[customer_id] = (known, known.newest)
        for customer_id, (st, watermark) in work.judged.items():
            customers[customer_id] = (st, max(st.newest, watermark))
        if not customers:
            return
        items = [(c, st, at) for c, (st, at) in customers.items()]
        pairs = [(st, at) for _, st, at in items]
        if self.live is not None:
            x = self.live.model.matrix(pairs)
            scored = self.live.snapshots(monitor=self.monitor, customers=items, x=x)
            work.snapshots = [(key, snapshot) for key, snapshot, _ in scored]
            self._observe("live", self.live, x, [p for _, _, p in scored])
            if work.alerts and self.live.explain and self.levels is None:
                work.alerts = explain_alerts(
                    model=self.live.model,
                    alerts=work.alerts,
                    state_of=customers.get,
                )
        if self.shadow is not None:
            x = self.shadow.model.matrix(pairs)
            probs = [round(float(p), 4) for p in self.shadow.model.probabilities(x)]
            for (customer_id, _, at), p in zip(items, probs, strict=True):
                work.shadow.append(
                    (
                        customer_id.encode(),
                        orjson.dumps(
                            {
                                "customer_id": customer_id,
                                "as_of": at,
                                "churn_probability": p,
                                "churn_level": LEVELS[level_of(p, self.shadow.cutoffs)],
                                "model_version": self.shadow.version,
                            }
                        ),
                    )
                )
            self._observe("shadow", self.shadow, x, probs)
        self._drift()

    def _observe(
        self,
        role: str,
        scorer: Scorer,
        x: np.ndarray,
        probs: list[float],
    ) -> None:
        self.scored.labels(role=role).inc(len(probs))
        histogram = self.probability.labels(role=role)
        warning = scorer.cutoffs[1]
        for p in probs:
            histogram.observe(p)
        self.at_warning.labels(role=role).inc(sum(1 for p in probs if p >= warning))
        self._windows[role].extend(zip(x.tolist(), probs, strict=True))

    def _drift(self) -> None:
        now = time.monotonic()
        if now - self._drift_at < DRIFT_EVERY_S:
            return
        self._drift_at = now
        for role, scorer in (("live", self.live), ("shadow", self.shadow)):
            window = self._windows.get(role)
            if scorer is None or not window:
                continue
            x = np.array([r for r, _ in window], dtype=float)
            scores = np.array([p for _, p in window], dtype=float)
            report = drift_report(
                reference=scorer.model.reference, x=x, names=scorer.model.names, scores=scores
            )
            for feature, value in report.items():
                self.psi.labels(role=role, feature=feature).set(value)
