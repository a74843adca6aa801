"""Whether an intake moves: records polled but not committed for too long make it "stuck".

Poison records are dead-lettered, so what is left to hold an intake still is a failure that
does not go away (a table locked, a bug hit by one record, the dead-letter topic missing) or a
call that never returns. Both look the same from outside: the same records stay pending while
the offsets do not move. ``/readyz`` reports that, with the last error, instead of "ready".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Progress:
    """Pending-since clock and last failure of one intake (monotonic seconds)."""

    pending_since: float | None = None
    failed_attempts: int = 0
    last_error: str | None = None

    def polled(self, *, now: float | None = None) -> None:
        """Records were taken; the clock starts unless older records are still pending."""
        if self.pending_since is None:
            self.pending_since = time.monotonic() if now is None else now

    def failed(self, *, error: BaseException, sqlstate: str | None = None) -> None:
        """The pending records could not be stored or committed (they will be retried)."""
        self.failed_attempts += 1
        self.last_error = type(error).__name__ + (f" (sqlstate {sqlstate})" if sqlstate else "")

    def committed(self) -> None:
        """The offsets moved past everything pending."""
        self.pending_since = None
        self.failed_attempts = 0
        self.last_error = None

    def stuck(self, *, name: str, after: float, now: float | None = None) -> dict[str, Any] | None:
        """A description of the stall when records have been pending longer than ``after``."""
        if self.pending_since is None:
            return None
        pending = (time.monotonic() if now is None else now) - self.pending_since
        if pending <= after:
            return None
        reason = f"intake {name}: the same records have been pending for {pending:.0f} s"
        if self.failed_attempts:
            reason += f" ({self.failed_attempts} failed attempts, last error {self.last_error})"
        else:
            reason += " (no attempt has finished)"
        return {
            "intake": name,
            "pending_seconds": round(pending, 1),
            "failed_attempts": self.failed_attempts,
            "last_error": self.last_error,
            "reason": reason,
        }
