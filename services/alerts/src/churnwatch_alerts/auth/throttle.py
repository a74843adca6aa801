"""Password-guessing throttle: too many failed logins for a username, or from one address, within
a window answer 429 with Retry-After, before the password is checked (no oracle, no hash cost).

Per process and bounded (the oldest entries are dropped past ``max_entries``); a successful login
clears its username. Each replica keeps its own counts, so N replicas allow N times the budget:
the bank's gateway or identity provider is the place for a global limit.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from datetime import datetime, timedelta


class LoginThrottle:
    """Failed logins per username and per client address in a sliding window."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        max_failures_per_address: int = 50,
        window_seconds: float = 300.0,
        max_entries: int = 50_000,
    ) -> None:
        self.max_failures = max_failures
        self.max_per_address = max_failures_per_address
        self.window = timedelta(seconds=window_seconds)
        self.max_entries = max_entries
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] + self.window <= now:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, *, username: str, address: str, now: datetime) -> int | None:
        """Seconds until a login may be tried again, or None when it may be tried now."""
        waits: list[datetime] = []
        for key, limit in ((f"user:{username}", self.max_failures), (f"addr:{address}", None)):
            times = self._recent(key, now)
            if len(times) >= (limit if limit is not None else self.max_per_address):
                waits.append(times[-(limit or self.max_per_address)] + self.window)
        if not waits:
            return None
        return max(1, math.ceil((max(waits) - now).total_seconds()))

    def failed(self, *, username: str, address: str, now: datetime) -> None:
        """Count one failed login."""
        for key in (f"user:{username}", f"addr:{address}"):
            times = self._failures.setdefault(key, deque())
            times.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_entries:
            self._failures.popitem(last=False)

    def succeeded(self, *, username: str) -> None:
        """A correct password clears the username's failures (not the address's)."""
        self._failures.pop(f"user:{username}", None)
