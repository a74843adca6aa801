"""Test-only fault injection: SIGKILL (or SIGSTOP) the worker at a named point of one event's batch.

``CHURNWATCH_MONITOR_FAULT_KILL_AT=<point>:<event_id>`` (off by default, refused in production by
the settings) lets the recovery tests on the real broker crash the worker exactly inside the
window that decides "nothing lost, nothing doubled":

The worker works in batches: a point is reached once per batch, and the fault fires when the
armed event is in that batch.

- ``after_alerts_acked``: the event's alerts are acknowledged by the broker, its state record is
  not yet written. On restart the event is redelivered and re-applied, and the same alert
  (same deterministic alert_id, same content apart from ``detected_at``) is produced again.
- ``after_state_durable``: the state record is on the changelog (producer flushed), the source
  offset is not committed. On restart the restored state already holds the event, so it is
  skipped as redelivered; its alert was acknowledged before the state write, so it is not lost.

``CHURNWATCH_MONITOR_FAULT_PAUSE_AT=<point>:<event_id>`` stops the worker with SIGSTOP instead, once,
at the same points or at ``before_delivery`` (the batch is applied, nothing of it written yet): the
zombie test (tests/fencing) resumes it with SIGCONT after another worker took its partitions.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable


class FaultPoints:
    """Checks whether the current event is the one to crash on, and crashes."""

    def __init__(self, spec: str | None, *, pause: str | None = None) -> None:
        point, _, event_id = (spec or "").partition(":")
        self.point = point or None
        self.event_id = event_id or None
        pause_point, _, pause_event = (pause or "").partition(":")
        self.pause_point = pause_point or None
        self.pause_event = pause_event or None

    @property
    def armed(self) -> bool:
        return self.point is not None or self.pause_point is not None

    async def reach_any(self, point: str, event_ids: Iterable[str]) -> None:
        """SIGKILL (or SIGSTOP, once) this process if ``point`` is armed for one of ``event_ids``."""
        ids = set(event_ids)
        if point == self.point and self.event_id is not None and self.event_id in ids:
            os.kill(os.getpid(), signal.SIGKILL)
        if point == self.pause_point and self.pause_event is not None and self.pause_event in ids:
            self.pause_point = None  # once: the resumed worker carries on
            os.kill(os.getpid(), signal.SIGSTOP)
