"""The churn level and the churn-risk alerts from the model's probability (issue 16 item 2).

With a model loaded the engine stops deciding the churn level from the rule composite
(``Monitor.checkpoint``) and hands this module one *checkpoint* per customer per period of
activity (``every_days``, default 7, on the epoch's grid in UTC: the state before the period's
first event, as of the period's start) and one per silence due (dormancy, payroll, score refresh;
as of the due time). Weekly, not daily: the model is trained on a weekly or monthly as-of grid,
and each checkpoint costs a feature row (most of a model's serving cost). The points follow from event time only, so
the worker (which flushes once per batch) and the backtest (which flushes whenever it likes) judge
the same states at the same times and raise the same alerts.

Each checkpoint keeps the feature row and a copy of the state; ``flush`` scores all pending rows in
one predict call and applies them in order: the level from the probability with hysteresis (a
level is left only when the probability is below its cut-off by ``hysteresis`` of it), and a
churn-risk alert when the level rises, updating (``supersedes``) the episode's open alert exactly
as the rule's alerts do; back at normal the episode ends. The rule set's cooldown applies as to
the rule's churn-risk alerts (same cooldown record): a rise to a level no higher than one alerted
within ``cooldown_hours`` raises no new alert, so a calibrated probability that steps back and
forth across a cut-off from day to day does not alert the manager each time; and an alerted
level is held for the cooldown (it cannot end its episode and reopen a new one within it). Reasons come from the checkpoint's copy
of the state, so the time of the flush changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np

from churnwatch_shared.alerts import (
    SEVERITY_RANK,
    Alert,
    AlertKind,
    CustomerStateName,
    Reason,
    alert_id_for,
)
from churnwatch_state_monitor.engine.buckets import DAY
from churnwatch_state_monitor.engine.churn import (
    CHURN_SCORE,
    LEVEL_SEVERITY,
    churn_key,
    churn_mark,
    marked_key,
)
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.scoring import priority
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.alert_reasons import TOP, reason_dicts
from churnwatch_state_monitor.model.artifact import LEVELS, ChurnModel
from churnwatch_state_monitor.model.features import row
from churnwatch_state_monitor.ruleset import limits_of

DEFAULT_HYSTERESIS: Final = 0.2
DEFAULT_EVERY_DAYS: Final = 7
_COMPOSITE: Final = CustomerStateName.COMPOSITE


def model_level(
    probability: float, current: int, *, cutoffs: Sequence[float], hysteresis: float
) -> int:
    """Level 0..3 of ``probability`` given the customer's ``current`` level: up as soon as a
    cut-off is reached, down only below ``cutoff x (1 - hysteresis)``."""
    up = sum(1 for c in cutoffs if probability >= c)
    if up >= current:
        return up
    held = sum(1 for c in cutoffs if probability >= c * (1.0 - hysteresis))
    return min(current, held)


def parse_hysteresis(text: str) -> float:
    """'0.2' -> 0.2: the share of a cut-off the probability must fall below it to leave a level."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"model level hysteresis {text!r}: give a share of the cut-off in [0, 1), e.g. 0.2"
        )
    return value


@dataclass(slots=True)
class _Pending:
    customer_id: str
    state: CustomerState  # the live record: the flush sets its level on it
    at: int
    row: list[float]
    copy: bytes  # the state as it was at the checkpoint, for the alert's reasons


@dataclass(slots=True)
class _Rise:
    pending: _Pending
    index: int
    probability: float
    level: int
    supersedes: str | None
    condition_key: str


class ModelLevels:
    """Installed on a Monitor: collects its checkpoints and turns them into levels and alerts."""

    def __init__(
        self,
        *,
        model: ChurnModel,
        cutoffs: Sequence[float],
        monitor: Monitor,
        hysteresis: float = DEFAULT_HYSTERESIS,
        every_days: int = DEFAULT_EVERY_DAYS,
    ) -> None:
        self.model, self.cutoffs, self.hysteresis = model, tuple(cutoffs), hysteresis
        self.ruleset_version = monitor.rs.version
        self.cooldown = limits_of(monitor.rs).cooldown
        self.cool_key = monitor.registry.code_of[CHURN_SCORE]  # shared with the rule's alerts
        self.pending: list[_Pending] = []
        monitor.checkpoint = self.observe
        monitor.checkpoint_every = every_days * DAY

    def observe(self, customer_id: str, st: CustomerState, at: int) -> None:
        """The engine's checkpoint: keep the row and a copy (the state changes after this)."""
        self.pending.append(
            _Pending(customer_id, st, at, row(st, at, self.model.names), st.encode())
        )

    def flush(
        self, *, current: Callable[[str], CustomerState | None], now: datetime | None = None
    ) -> list[Alert]:
        """Score the pending checkpoints (one predict call), set the levels, return the alerts
        of the rises; ``current``: the customer's live record (an erased one is skipped);
        ``now``: detection time (None: the checkpoint's time, as the backtest stamps)."""
        pending, self.pending = self.pending, []
        if not pending:
            return []
        x = np.array([p.row for p in pending], dtype=float).reshape(
            len(pending), len(self.model.names)
        )
        probabilities = self.model.probabilities(x)
        rises: list[_Rise] = []
        for i, (p, raw) in enumerate(zip(pending, probabilities, strict=True)):
            st = p.state
            if current(p.customer_id) is not st:  # erased since the checkpoint
                continue
            probability = round(float(raw), 4)
            old = st.level
            level = model_level(probability, old, cutoffs=self.cutoffs, hysteresis=self.hysteresis)
            last = st.cool.get(self.cool_key)
            if level < old and last is not None and p.at - last[0] < self.cooldown:
                level = old  # an alerted level is held for the cooldown: no flapping episodes
            st.level = level
            if level == 0:
                st.churn_alert = 0  # back at normal: the episode ends
            if level <= old:
                continue
            rank = SEVERITY_RANK[LEVEL_SEVERITY[level]]
            if last is not None and p.at - last[0] < self.cooldown and rank <= last[1]:
                continue  # alerted at this level or higher within the cooldown
            st.cool[self.cool_key] = [p.at, rank]
            # one open churn-risk alert per episode: a rise updates it (as the rule's alerts do)
            supersedes = (
                alert_id_for(
                    customer_id=p.customer_id,
                    rule_id=CHURN_SCORE,
                    condition_key=marked_key(st.churn_alert),
                )
                if st.churn_alert
                else None
            )
            key = churn_key(level, p.at)
            st.churn_alert = churn_mark(key)
            rises.append(_Rise(p, i, probability, level, supersedes, key))
        return self._alerts(rises, x, now)

    def _alerts(self, rises: list[_Rise], x: np.ndarray, now: datetime | None) -> list[Alert]:
        if not rises:
            return []
        copies = [CustomerState.decode(r.pending.copy) for r in rises]
        explained = self.model.explain(
            [(st, r.pending.at) for st, r in zip(copies, rises, strict=True)],
            x=x[[r.index for r in rises]],
            cohorts=[f"{st.segment or '-'}/{st.tier or '-'}" for st in copies],
            top=TOP,
        )
        horizon = self.model.manifest.get("horizon_days")
        window = f"{horizon}d" if horizon else "model"
        out = []
        for r, st, why in zip(rises, copies, explained, strict=True):
            name = LEVELS[r.level]
            cutoff = self.cutoffs[r.level - 1]
            severity = LEVEL_SEVERITY[r.level]
            occurred = datetime.fromtimestamp(r.pending.at, UTC)
            lead = Reason(
                code="model.probability",
                state=_COMPOSITE,
                text=(
                    f"churn model {self.model.version}: {r.probability:.0%} probability of leaving"
                    f" within {horizon or '?'} days ({name} from {cutoff:.0%})"
                ),
                observed=r.probability,
                baseline=cutoff,
                window=window,
            )
            out.append(
                Alert(
                    alert_id=alert_id_for(
                        customer_id=r.pending.customer_id,
                        rule_id=CHURN_SCORE,
                        condition_key=r.condition_key,
                    ),
                    supersedes=r.supersedes,
                    kind=AlertKind.CHURN_RISK,
                    customer_id=r.pending.customer_id,
                    state=_COMPOSITE,
                    rule_id=CHURN_SCORE,
                    severity=severity,
                    priority=priority(severity=severity, st=st),
                    title=f"Churn risk {name} (model probability {r.probability:.0%})",
                    reasons=[lead, *(Reason(**d) for d in reason_dicts(why))],
                    observed=r.probability,
                    baseline=cutoff,
                    window=window,
                    churn_score=max(0.0, min(100.0, st.churn)),
                    ruleset_version=self.ruleset_version,
                    occurred_at=occurred,
                    detected_at=now if now is not None else occurred,
                    tier=st.tier,
                    segment=st.segment,
                    branch_id=st.branch,
                )
            )
        return out
