"""Business calendars for escalation SLAs: open hours, time zone and holidays per branch."""

from churnwatch_alerts.calendar.business import ALWAYS_OPEN, BusinessCalendar, NoBusinessTime
from churnwatch_alerts.calendar.config import (
    ALWAYS,
    CalendarConfigError,
    Calendars,
    cached_calendars,
    known_zone,
    load_calendars,
    parse_calendars,
)

__all__ = [
    "ALWAYS",
    "ALWAYS_OPEN",
    "BusinessCalendar",
    "CalendarConfigError",
    "Calendars",
    "NoBusinessTime",
    "cached_calendars",
    "known_zone",
    "load_calendars",
    "parse_calendars",
]
