"""Replay events through the backtest and record every customer's churn score over time.

The backtest's public ``replay`` (``churnwatch_state_monitor.backtest``) drives a ``Monitor``;
here it drives a ``RecordingMonitor`` that forwards every call to the real one and notes, after
each applied event and after each silence scan, the customer's churn score and level at that
event time. The scores are what a manager would have seen at that moment: no look-ahead.

Only ``observe`` reads the engine's record (``CustomerState.churn`` / ``.level``); an engine
that keeps the score elsewhere changes that one function.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import orjson

from churnwatch_state_monitor.backtest import replay
from churnwatch_state_monitor.engine.monitor import Monitor

# (epoch seconds, churn score, churn level index: 0 normal, 1 watch, 2 warning, 3 critical)
Point = tuple[int, float, int]
WARNING = 2


def observe(state: Any) -> tuple[float, int]:
    """The customer's composite churn score and level index as the engine holds them now."""
    return float(state.churn), int(state.level)


@dataclass
class Recording:
    """What one replay produced: score series, alerts, chosen snapshots, states and counts."""

    series: dict[str, list[Point]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> snapshot
    states: dict[str, Any] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def events(self) -> int:
        """Event lines the replay read (applied, duplicate, late or invalid)."""
        return sum(v for k, v in self.counts.items() if not k.startswith("alert:"))


class RecordingMonitor:
    """A ``Monitor`` that records scores; ``watch`` names events whose snapshot is kept."""

    def __init__(self, *, monitor: Monitor, recording: Recording, watch: Iterable[str]) -> None:
        self._monitor = monitor
        self._rec = recording
        self._watch = frozenset(watch)
        self.rs = monitor.rs

    def _note(self, customer_id: str, at: int, state: Any) -> None:
        score, level = observe(state)
        points = self._rec.series.setdefault(customer_id, [])
        if points and points[-1][1] == score and points[-1][2] == level:
            return  # unchanged: the previous point still holds
        points.append((at, score, level))

    def process(self, state: Any, event: Any, *, now: Any, offset: int | None = None) -> Any:
        """``Monitor.process``, then the customer's score noted at the event's time."""
        outcome = self._monitor.process(state, event, now=now, offset=offset)
        if outcome.state is not None and outcome.status.value == "applied":
            at = int(event.occurred_at.astimezone(UTC).timestamp())
            self._note(event.customer_id, at, outcome.state)
            if event.event_id in self._watch:
                snap = self._monitor.snapshot_bytes(event.customer_id, outcome.state)
                self._rec.snapshots[event.event_id] = orjson.loads(snap)
        return outcome

    def scan(self, state: Any, customer_id: str, *, watermark: int, now: Any = None) -> Any:
        """``Monitor.scan``; a scan that moves the score is noted at the watermark."""
        found = self._monitor.scan(state, customer_id, watermark=watermark, now=now)
        self._note(customer_id, watermark, state)
        return found

    def silence_due(self, state: Any) -> int | None:
        """``Monitor.silence_due``."""
        return self._monitor.silence_due(state)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._monitor, name)


class _AlertSink:
    def __init__(self, keep: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.rows: list[dict[str, Any]] = []
        self._keep = keep

    def write(self, line: bytes) -> int:
        self.rows.append(self._keep(orjson.loads(line)))
        return len(line)


class _Errors:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines.append(text)
        return len(text)


def _slim(alert: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in alert.items() if "supersed" in k}  # an update names what it replaces
    return {
        **kept,
        "alert_id": alert["alert_id"],
        "customer_id": alert["customer_id"],
        "rule_id": alert["rule_id"],
        "kind": alert["kind"],
        "severity": alert["severity"],
        "occurred_at": alert["occurred_at"],
        "churn_score": alert.get("churn_score"),
        "evidence_event_ids": alert.get("evidence_event_ids", []),
    }


def record(*, lines: Iterable[bytes], monitor: Monitor, watch: Iterable[str] = ()) -> Recording:
    """Replay ``lines`` (JSON events) through the backtest with ``monitor``; the recording."""
    rec = Recording()
    sink, errors = _AlertSink(_slim), _Errors()
    started = time.perf_counter()
    # replay reads files; an iterable of lines and these sinks serve the same calls
    states, counts = replay(
        lines=lines,  # type: ignore[arg-type]
        monitor=RecordingMonitor(monitor=monitor, recording=rec, watch=watch),  # type: ignore[arg-type]
        alerts_out=sink,  # type: ignore[arg-type]
        errors=errors,  # type: ignore[arg-type]
    )
    rec.seconds = time.perf_counter() - started
    rec.alerts, rec.states, rec.counts, rec.errors = sink.rows, states, counts, errors.lines
    return rec
