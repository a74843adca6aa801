"""A bounded memory of recently acknowledged (producer, event_id) pairs: re-sends are duplicates.

This is a courtesy to producers, not the idempotency guarantee: it is per process and forgotten on
restart. The state monitor deduplicates by (producer, event_id) as well, so a re-send that slips
past this cache (after a restart, or to another ingest replica) still changes state only once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

Key = tuple[str, str]  # (producer, event_id)


class RecentEventIds:
    """Least-recently-used set of (producer, event_id); ``capacity=0`` disables it."""

    def __init__(self, *, capacity: int) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[Key, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, *, producer: str, event_id: str) -> bool:
        """True when this pair was acknowledged recently."""
        return self.seen_key((producer, event_id))

    def seen_key(self, key: Key) -> bool:
        """:meth:`seen` for a ``(producer, event_id)`` tuple (a batch builds the tuple anyway)."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        return False

    def remember(self, *, producer: str, event_id: str) -> None:
        """Record a pair the broker has acknowledged."""
        self.remember_keys(((producer, event_id),))

    def remember_keys(self, keys: Iterable[Key]) -> None:
        """Record ``(producer, event_id)`` pairs the broker has acknowledged, in order."""
        if self._capacity <= 0:
            return
        seen = self._seen
        move_to_end = seen.move_to_end
        for key in keys:
            if key in seen:
                move_to_end(key)
            else:
                seen[key] = None
        for _ in range(len(seen) - self._capacity):
            seen.popitem(last=False)
