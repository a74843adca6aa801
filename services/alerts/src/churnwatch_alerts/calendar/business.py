"""Business time: open hours per weekday in a time zone, minus holidays; SLAs count only it.

All arithmetic is on UTC instants: each open interval is a local wall-clock range of one local
date, turned into UTC with the zone's rules of that date, so a day with a DST change has its real
length (an open range across the change is an hour shorter or longer) and a branch in another
zone opens at its own local time. A wall time that does not exist (the skipped hour of a spring
change) resolves as Python's zoneinfo does (fold=0: the offset before the change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DAY_SECONDS = 86_400
# A calendar must open at least once a week (checked on load), so only holidays can make the
# search long; ten years of them is a configuration error, not a deadline.
SEARCH_DAYS = 3_660

Interval = tuple[int, int]  # seconds after local midnight: [open, close), close <= 86,400


class NoBusinessTime(ValueError):
    """The calendar has no open time within the search horizon."""


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Open hours (per weekday, Monday first) in ``zone``; ``zone`` None means always open."""

    name: str
    zone: ZoneInfo | None = None
    week: tuple[tuple[Interval, ...], ...] = ()
    holidays: frozenset[date] = frozenset()
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()  # (month, day)

    @property
    def always_open(self) -> bool:
        """True for the 24x7 calendar (no zone): business time is wall time."""
        return self.zone is None

    def is_holiday(self, day: date) -> bool:
        """True when ``day`` (a local date) is closed all day as a holiday."""
        return day in self.holidays or (day.month, day.day) in self.yearly_holidays

    def add(self, *, start: datetime, seconds: float) -> datetime:
        """The instant ``seconds`` of open time after ``start`` (aware; UTC unless 24x7)."""
        if self.zone is None:  # 24x7: exactly the wall-clock deadline
            return start + timedelta(seconds=seconds)
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        start = start.astimezone(UTC)
        remaining = float(seconds)
        day = start.astimezone(self.zone).date()
        for _ in range(SEARCH_DAYS):
            if not self.is_holiday(day):
                for opens_at, closes_at in self.week[day.weekday()]:
                    opens = _instant(day, opens_at, self.zone)
                    closes = _instant(day, closes_at, self.zone)
                    if closes <= start:
                        continue
                    opens = max(opens, start)
                    span = (closes - opens).total_seconds()
                    if remaining <= span:
                        return opens + timedelta(seconds=remaining)
                    remaining -= span
            day += timedelta(days=1)
        raise NoBusinessTime(
            f"business calendar {self.name!r} has no open time within {SEARCH_DAYS} days of "
            f"{start.isoformat()}"
        )


def _instant(day: date, seconds: int, zone: ZoneInfo) -> datetime:
    """UTC instant of local wall time ``seconds`` after midnight of ``day`` (86,400: next day)."""
    extra, seconds = divmod(seconds, DAY_SECONDS)
    local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(
        days=extra, seconds=seconds
    )  # aware + timedelta is wall-clock arithmetic: the offset is that of the result's date
    return local.astimezone(UTC)


ALWAYS_OPEN = BusinessCalendar(name="24x7")
