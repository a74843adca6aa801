"""Point-in-time features: replay events in time order through the engine and sample at as-of dates.

The replay is the backtest's (``engine.Monitor.process`` for each event, silence rules whenever a
partition's event-time watermark passes a customer's due time), but in ``occurred_at`` order
(ties in file order) and with every customer's features taken *before* the first event after an
as-of time T is applied. So nothing after T reaches T's features, whatever the file holds after T.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import orjson
from pydantic import ValidationError

from churnwatch_shared import topics
from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.settings import CommonSettings
from churnwatch_shared.wire_decode import decode_event
from churnwatch_state_monitor.engine.buckets import DAY
from churnwatch_state_monitor.engine.monitor import Monitor, Status
from churnwatch_state_monitor.engine.silence import SilenceIndex
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model.feature_rows import matrix


class EventsError(ValueError):
    """The events file cannot be used (unreadable line, no events)."""


@dataclass(slots=True)
class Sample:
    """Features of every known customer at one as-of time."""

    as_of: int
    customer_ids: list[str]
    rows: np.ndarray  # float64, a row per customer, a column per feature name
    rule_scores: list[float]  # the engine's composite churn score at that time (for comparison)
    segments: list[str]  # "segment/tier": the peer cohort of each customer


@dataclass(slots=True)
class History:
    """An events file, read in ``occurred_at`` order (ties in file order).

    A file already in time order (the usual export) is streamed from disk on every pass; only an
    unordered one is held in memory, as raw lines, to be replayed sorted. Lines are parsed into
    events while they are replayed, so memory does not grow with parsed objects.
    """

    path: Path
    count: int
    first: int
    last: int
    order: list[tuple[int, int]] | None = None  # (occurred_at, line number) when unsorted
    lines: list[bytes] = field(default_factory=list)  # raw lines when unsorted

    def raw(self) -> Iterator[tuple[int, bytes]]:
        """(line number, raw line) in time order."""
        if self.order is None:
            with self.path.open("rb") as fh:
                for number, line in enumerate(fh, start=1):
                    if line.strip():
                        yield number, line
        else:
            for _, number in self.order:
                yield number, self.lines[number - 1]

    def events(self) -> Iterator:
        """Parsed events in time order; an invalid line stops with its line number."""
        for number, line in self.raw():
            try:
                yield decode_event(line)
            except ValidationError as exc:
                raise EventsError(f"{self.path}:{number}: {exc.errors()[0]['msg']}") from exc


def _stamp(line: bytes) -> int:
    return int(datetime.fromisoformat(orjson.loads(line)["occurred_at"]).timestamp())


def load_events(path: Path) -> History:
    """Index an NDJSON events file by time; refuse lines without a readable occurred_at."""
    # 16 bytes a line (not a tuple of two ints: 100k customers x 1 year are 14M lines)
    times, numbers = array("q"), array("q")
    invalid: list[str] = []
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise EventsError(f"{path}: cannot read events ({exc.strerror})") from exc
    with fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                times.append(_stamp(line))
                numbers.append(number)
            except (ValueError, KeyError, TypeError) as exc:
                invalid.append(f"{path}:{number}: no readable occurred_at ({type(exc).__name__})")
    if invalid:
        shown = "\n".join(invalid[:10])
        raise EventsError(f"{len(invalid)} invalid event line(s), e.g.:\n{shown}")
    if not times:
        raise EventsError(f"{path}: no events")
    ordered = all(a <= b for a, b in pairwise(times))
    history = History(path=path, count=len(times), first=min(times), last=max(times))
    if not ordered:
        stamps = sorted(
            zip(times, numbers, strict=True)
        )  # (time, line number): ties keep file order
        history.order, history.lines = stamps, path.read_bytes().split(b"\n")
    return history


def monthly_as_of(*, first: int, last: int, horizon_days: int) -> list[int]:
    """Default as-of times: the first of each month, from the first at least 28 days after the
    first event (weeks of history to judge) to the last whose whole horizon lies in the history."""
    start = datetime.fromtimestamp(first + 28 * DAY, UTC)  # at least four weeks of history
    on_first = start == start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    y, m = start.year, start.month + (0 if on_first else 1)
    out: list[int] = []
    while True:
        if m > 12:
            y, m = y + 1, 1
        t = int(datetime(y, m, 1, tzinfo=UTC).timestamp())
        if t + horizon_days * DAY > last:
            return out
        out.append(t)
        m += 1


def parse_as_of(text: str) -> int:
    """An as-of date or date-time (ISO 8601; a date means its 00:00 UTC) as epoch seconds."""
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"as-of {text!r} is not an ISO date (e.g. 2025-06-01)") from exc
    if at.tzinfo is None:
        raise ValueError(f"as-of {text!r} has no time zone (add +00:00 or give a date)")
    return int(at.timestamp())


def replay_states(
    *, events: Iterable, monitor: Monitor
) -> Iterator[tuple[int, dict[str, CustomerState]]]:
    """Apply events in the given order; before each event yield (its time, states so far).

    The states dict is live (updated in place): read it before asking for the next event.
    """
    states: dict[str, CustomerState] = {}
    # silence watermarks per partition as the worker and the backtest keep them: the configured
    # count (CHURNWATCH_KAFKA_CUSTOMER_PARTITIONS), so dormancy fires at the same event time
    partitions = CommonSettings().partitions(topics.EVENTS)
    indexes = [SilenceIndex() for _ in range(partitions)]
    partition: dict[str, int] = {}
    for event in events:
        at = int(event.occurred_at.timestamp())
        yield at, states
        outcome = monitor.process(
            states.get(event.customer_id), event, now=event.occurred_at.astimezone(UTC)
        )
        if outcome.status is Status.ERASED:  # an erasure: nothing of the customer trains a model
            states.pop(event.customer_id, None)
            indexes[partition_of(customer_id=event.customer_id, partitions=partitions)].schedule(
                event.customer_id, None
            )
        if outcome.status is Status.APPLIED and outcome.state is not None:
            states[event.customer_id] = outcome.state
            part = partition.get(event.customer_id)
            if part is None:  # the hash once per customer, not per event
                part = partition[event.customer_id] = partition_of(
                    customer_id=event.customer_id, partitions=partitions
                )
            index = indexes[part]
            index.observe(at)
            index.schedule(event.customer_id, monitor.silence_due(outcome.state))
            for customer_id, _ in index.pop_due(limit=1 << 30):
                state = states[customer_id]
                monitor.scan(state, customer_id, watermark=index.watermark)
                index.schedule(customer_id, monitor.silence_due(state))
    yield 1 << 62, states


def sample_features(
    *, history: History, monitor: Monitor, as_of: list[int], names: list[str]
) -> Iterator[Sample]:
    """Features of every customer seen by each as-of time, from a time-ordered replay (yielded
    one as-of time at a time: the caller keeps what it needs, not every sample)."""
    pending = sorted(set(as_of))
    for at, states in replay_states(events=history.events(), monitor=monitor):
        while pending and at > pending[0]:
            yield _sample(states, pending.pop(0), names)
        if not pending:
            break


def _sample(states: dict[str, CustomerState], as_of: int, names: list[str]) -> Sample:
    ids = sorted(states)
    return Sample(
        as_of=as_of,
        customer_ids=ids,
        rows=matrix([states[c] for c in ids], as_of, names),
        rule_scores=[states[c].churn for c in ids],
        segments=[f"{states[c].segment or '-'}/{states[c].tier or '-'}" for c in ids],
    )
