"""A bounded memory of recently acknowledged (producer, event_id) pairs: re-sends are duplicates.

This is a courtesy to producers, not the idempotency guarantee: it is per process and forgotten on
restart. The state monitor deduplicates by (producer, event_id) as well, so a re-send that slips
past this cache (after a restart, or to another ingest replica) still changes state only once.
"""

from __future__ import annotations

from collections import OrderedDict


class RecentEventIds:
    """Least-recently-used set of (producer, event_id); ``capacity=0`` disables it."""

    def __init__(self, *, capacity: int) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, *, producer: str, event_id: str) -> bool:
        """True when this pair was acknowledged recently."""
        key = (producer, event_id)
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        return False

    def remember(self, *, producer: str, event_id: str) -> None:
        """Record a pair the broker has acknowledged."""
        if self._capacity <= 0:
            return
        self._seen[(producer, event_id)] = None
        self._seen.move_to_end((producer, event_id))
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
