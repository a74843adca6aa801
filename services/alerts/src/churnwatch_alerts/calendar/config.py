"""The business calendar file: a default calendar and one per branch, validated on load.

    version: "2026-1"
    default:                      # omitted: open 24x7 (UTC)
      time_zone: Europe/Prague
      hours:                      # weekday or range of weekdays -> "HH:MM-HH:MM" (one or a list)
        mon-fri: ["08:00-12:00", "13:00-17:00"]
      holidays: [2026-12-24]      # local dates, closed all day
      yearly_holidays: ["12-25", "01-01"]   # MM-DD, every year
    branches:
      BR-LONDON:                  # a field a branch omits is the default's
        time_zone: Europe/London

Weekdays are mon..sun; a day not named is closed; a range ends at 24:00 at the latest (no range
crosses midnight: split it). Every calendar must be open at least once a week.
"""

from __future__ import annotations

import functools
import itertools
import re
from datetime import date
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from churnwatch_alerts.calendar.business import ALWAYS_OPEN, BusinessCalendar, Interval

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_YEARLY = re.compile(r"^(\d{2})-(\d{2})$")


class CalendarConfigError(ValueError):
    """The business calendar file is unreadable or invalid (the message names each field)."""


def _days(key: str) -> list[int]:
    """Weekday indexes of ``mon`` or ``mon-fri``."""
    first, _, last = key.partition("-")
    if first not in WEEKDAYS or (last and last not in WEEKDAYS):
        raise ValueError(f"{key!r} is not a weekday or range of weekdays ({', '.join(WEEKDAYS)})")
    start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
    if end < start:
        raise ValueError(f"{key!r}: a weekday range runs forward (e.g. mon-fri)")
    return list(range(start, end + 1))


def _interval(text: str) -> Interval:
    match = _RANGE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a range HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"{text!r}: times run from 00:00 to 24:00")
    opens, closes = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if closes <= opens:
        raise ValueError(
            f"{text!r}: the range must end after it starts (split one across midnight)"
        )
    return opens, closes


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def known_zone(value: str | None) -> str | None:
    """``value`` unchanged when it names an IANA time zone (or is None); else a ValueError."""
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Europe/Prague)"
            ) from exc
    return value


class CalendarSpec(_Config):
    """One calendar as written; omitted fields come from the default calendar."""

    time_zone: str | None = None
    hours: dict[str, str | list[str]] | None = None
    holidays: list[date] | None = None
    yearly_holidays: list[str] | None = None

    _known_zone = field_validator("time_zone")(known_zone)

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, str | list[str]] | None) -> dict | None:
        if value is not None:
            _week(value)
        return value

    @field_validator("yearly_holidays")
    @classmethod
    def _valid_yearly(cls, value: list[str] | None) -> list[str] | None:
        for text in value or []:
            match = _YEARLY.match(text)
            try:
                if not match:
                    raise ValueError
                date(2000, int(match[1]), int(match[2]))  # a leap year: 02-29 is allowed
            except ValueError:
                raise ValueError(f"{text!r} is not a month and day MM-DD") from None
        return value


def _week(hours: dict[str, str | list[str]]) -> tuple[tuple[Interval, ...], ...]:
    week: list[list[Interval]] = [[] for _ in WEEKDAYS]
    for key, ranges in hours.items():
        for index in _days(key):
            for text in [ranges] if isinstance(ranges, str) else ranges:
                week[index].append(_interval(text))
    for index, day in enumerate(week):
        day.sort()
        for (_, closes), (opens, _) in itertools.pairwise(day):
            if opens < closes:
                raise ValueError(f"{WEEKDAYS[index]}: ranges overlap")
    if not any(week):
        raise ValueError("no open hours on any weekday")
    return tuple(tuple(day) for day in week)


class CalendarFile(_Config):
    version: Annotated[str, Field(min_length=1, max_length=64)]
    default: CalendarSpec | None = None
    branches: dict[Annotated[str, Field(min_length=1, max_length=64)], CalendarSpec] = Field(
        default_factory=dict
    )


class Calendars:
    """The default calendar and the branches' own; ``for_branch`` falls back to the default."""

    def __init__(
        self,
        *,
        version: str,
        default: BusinessCalendar,
        branches: dict[str, BusinessCalendar],
    ) -> None:
        self.version = version
        self.default = default
        self.branches = branches

    def for_branch(self, branch_id: str | None) -> BusinessCalendar:
        """The branch's calendar, else the default one."""
        return self.branches.get(branch_id or "", self.default)


ALWAYS = Calendars(version="24x7", default=ALWAYS_OPEN, branches={})


def _build(name: str, spec: CalendarSpec | None, base: CalendarSpec | None) -> BusinessCalendar:
    spec, base = spec or CalendarSpec(), base or CalendarSpec()
    zone = spec.time_zone or base.time_zone
    hours = spec.hours if spec.hours is not None else base.hours
    if zone is None and hours is None:
        return BusinessCalendar(name=name)  # 24x7
    holidays = spec.holidays if spec.holidays is not None else base.holidays
    yearly = spec.yearly_holidays if spec.yearly_holidays is not None else base.yearly_holidays
    return BusinessCalendar(
        name=name,
        zone=ZoneInfo(zone or "UTC"),
        week=_week(hours) if hours is not None else tuple(((0, 86_400),) for _ in WEEKDAYS),
        holidays=frozenset(holidays or ()),
        yearly_holidays=frozenset((int(t[:2]), int(t[3:])) for t in yearly or ()),
    )


def parse_calendars(text: str, *, source: str = "<text>") -> Calendars:
    """Validate YAML text as a business calendar file; the error names the file and each field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalendarConfigError(f"business calendar {source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CalendarConfigError(f"business calendar {source} must be a YAML mapping")
    try:
        parsed = CalendarFile.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        ]
        raise CalendarConfigError(
            f"business calendar {source} is invalid: " + "; ".join(problems)
        ) from exc
    return Calendars(
        version=parsed.version,
        default=_build("default", parsed.default, None),
        branches={b: _build(b, spec, parsed.default) for b, spec in parsed.branches.items()},
    )


def load_calendars(path: Path | None) -> Calendars:
    """The calendars of ``path``; none configured means every SLA runs 24x7 (wall time)."""
    if path is None:
        return ALWAYS
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarConfigError(f"cannot read business calendar {path}: {exc.strerror}") from exc
    return parse_calendars(text, source=str(path))


@functools.cache
def cached_calendars(path: Path | None) -> Calendars:
    """``load_calendars`` once per path: read and validated with the settings at start-up."""
    return load_calendars(path)
