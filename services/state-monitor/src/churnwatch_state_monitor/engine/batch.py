"""One partition's share of a batch, applied record by record: the worker's per-event loop.

Compiled with the rule engine (``native.COMPILED``): the loop runs for every event, and compiled it
calls ``Monitor.process`` and ``CustomerState.decode`` directly instead of through Python calls.
Everything that needs Kafka, metrics or logging stays with the caller (``processor``), reached
through ``BatchEffects``' callbacks for the rare cases (invalid and late records).

A customer's state is looked up in this batch's states first, then in the states of the batch
before it, whose delivery may still be in flight (its store is written only after the changelog
acknowledged it), then in the partition's store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from churnwatch_shared.alerts import Alert
from churnwatch_shared.wire_decode import decode_event
from churnwatch_state_monitor.engine.monitor import Monitor, Status
from churnwatch_state_monitor.engine.state import CustomerState

_APPLIED = Status.APPLIED
_DUPLICATE = Status.DUPLICATE
_REDELIVERED = Status.REDELIVERED
_LATE = Status.LATE
_ERASED = Status.ERASED


class BatchEffects:
    """What applying one batch's records produced, filled in by ``apply_records``."""

    def __init__(
        self,
        *,
        states: dict[str, CustomerState],
        dirty: dict[str, int],
        snapshots: list[tuple[bytes, bytes]],
        prior: dict[str, CustomerState],
        reject: Callable[[Any, str], None],
        late: Callable[[Any], None],
        event_ids: list[str] | None,
        erased: dict[str, int] | None = None,
        gone: set[str] | None = None,
    ) -> None:
        self.states = states  # customer -> newest state (also the batch's decoded-record cache)
        self.dirty = dirty  # customer -> EVENTS partition, for the customers whose state changed
        self.snapshots = snapshots  # (key, snapshot bytes)
        self.prior = prior  # the previous batch's states (its store write may still be pending)
        self.reject = reject  # an invalid record (dead letter) and why
        self.late = late  # an event too late to merge (counted and logged by the caller)
        self.event_ids = event_ids  # applied event ids, kept only when a test fault is armed
        self.fired: list[tuple[bytes, Alert]] = []  # (key, alert) in event order
        # customers erased by this batch -> EVENTS partition (worker/erasure.py writes the
        # tombstones); ``gone``: erased customers whose stored state must not be read any more
        self.erased: dict[str, int] = {} if erased is None else erased
        self.gone: set[str] = set() if gone is None else gone
        self.applied = 0
        self.duplicate = 0
        self.redelivered = 0
        self.late_events = 0
        self.invalid = 0
        self.snapshot_count = 0


def invalid_reason(exc: ValidationError) -> str:
    """The dead-letter reason of a contract violation: the first error's field path and message."""
    errors = exc.errors()
    if not errors:
        return f"invalid event at (record): {exc}"
    where = ".".join(str(p) for p in errors[0]["loc"]) or "(record)"
    return f"invalid event at {where}: {errors[0]['msg']}"


def apply_records(
    records: list[Any],
    start: int,
    end: int,
    partition: int,
    store: Any,
    monitor: Monitor,
    now: datetime,
    fx: BatchEffects,
) -> None:
    """Apply ``records[start:end]`` (Kafka records of EVENTS ``partition``) in order."""
    states, prior, dirty, snapshots, fired = fx.states, fx.prior, fx.dirty, fx.snapshots, fx.fired
    event_ids = fx.event_ids
    for i in range(start, end):
        record = records[i]
        try:
            # the fast path for the commonest types; any refusal is parse_event's, word for word
            event = decode_event(record.value)
        except ValidationError as exc:  # a contract violation: dead letter with the reason
            fx.invalid += 1
            fx.reject(record, invalid_reason(exc))
            continue
        except (TypeError, ValueError) as exc:  # not JSON at all, or no value
            fx.invalid += 1
            fx.reject(record, f"undecodable record: {type(exc).__name__}")
            continue
        customer_id: str = event.customer_id
        key = customer_id.encode()
        record_key = record.key
        if record_key is not None and record_key != key:
            # a record keyed by something else sits on another customer's partition
            fx.invalid += 1
            fx.reject(record, "record key does not match customer_id")
            continue
        state = states.get(customer_id)
        if state is None and customer_id not in fx.gone:
            state = prior.get(customer_id)
            if state is None:
                raw = store.get(customer_id)
                if raw is not None:
                    state = CustomerState.decode(raw)
        outcome = monitor.process(state, event, now=now, offset=record.offset)
        status = outcome.status
        if status is _APPLIED:
            fx.applied += 1
            new_state = outcome.state
            assert new_state is not None
            states[customer_id] = new_state
            dirty[customer_id] = partition
            for alert in outcome.alerts:
                fired.append((key, alert))
            snapshot = outcome.snapshot
            if snapshot is not None:
                fx.snapshot_count += 1
                snapshots.append((key, snapshot))
            if event_ids is not None:
                event_ids.append(event.event_id)
        elif status is _DUPLICATE:
            fx.duplicate += 1
        elif status is _REDELIVERED:
            # already in the restored state (its alerts were acked before that state was
            # written); re-publish the snapshot, which may have been lost
            fx.redelivered += 1
            current = outcome.state
            assert current is not None
            states[customer_id] = current
            snapshots.append((key, monitor.snapshot_bytes(customer_id, current)))
        elif status is _ERASED:
            # the state goes, with this batch's alerts and snapshots of the customer: none may
            # reach the alerts service after its erasure
            states.pop(customer_id, None)
            dirty.pop(customer_id, None)
            fired[:] = [f for f in fired if f[0] != key]
            snapshots[:] = [s for s in snapshots if s[0] != key]
            fx.erased[customer_id] = partition
            fx.gone.add(customer_id)
        elif status is _LATE:
            fx.late_events += 1
            fx.late(event)
