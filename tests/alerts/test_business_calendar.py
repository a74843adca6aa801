"""Business calendars for SLAs (issue 18 item 6): exact deadlines in business time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from churnwatch_alerts.calendar import ALWAYS, CalendarConfigError, load_calendars, parse_calendars

CALENDAR = """
version: "test-1"
default:
  time_zone: Europe/Prague
  hours:
    mon-fri: ["08:00-12:00", "13:00-17:00"]
  holidays: [2026-12-24]
  yearly_holidays: ["12-25", "12-26", "01-01"]
branches:
  BR-NYC:
    time_zone: America/New_York
  BR-247:
    time_zone: UTC
    hours: {mon-sun: "00:00-24:00"}
    holidays: []
    yearly_holidays: []
"""


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def calendars():
    return parse_calendars(CALENDAR, source="test.yaml")


def test_no_file_means_24x7_wall_time() -> None:
    assert load_calendars(None) is ALWAYS
    start = datetime(2026, 12, 25, 23, 50, tzinfo=UTC)  # a Friday night and a holiday
    assert ALWAYS.for_branch("BR-1").add(start=start, seconds=900) == start + timedelta(minutes=15)


def test_within_open_hours_the_deadline_is_wall_time(calendars) -> None:
    start = _utc("2026-03-04T09:00:00+01:00")  # Wednesday in Prague
    assert calendars.for_branch(None).add(start=start, seconds=900) == _utc(
        "2026-03-04T09:15:00+01:00"
    )


def test_the_lunch_break_does_not_count(calendars) -> None:
    start = _utc("2026-03-04T11:50:00+01:00")
    assert calendars.default.add(start=start, seconds=900) == _utc("2026-03-04T13:05:00+01:00")


def test_across_a_weekend(calendars) -> None:
    friday = _utc("2026-03-06T16:50:00+01:00")
    # 10 minutes on Friday, the other 5 on Monday morning
    assert calendars.default.add(start=friday, seconds=900) == _utc("2026-03-09T08:05:00+01:00")
    saturday = _utc("2026-03-07T10:00:00+01:00")
    # 4.5 h from Saturday: Monday 08:00-12:00, lunch skipped, 13:00-13:30
    assert calendars.default.add(start=saturday, seconds=4.5 * 3600) == _utc(
        "2026-03-09T13:30:00+01:00"
    )


def test_across_holidays(calendars) -> None:
    # Wed 23 Dec 2026 16:00 with 4 h: one hour that day; 24th dated, 25th and 26th yearly
    # holidays (26th a Saturday), Sunday closed: the rest on Monday 28th 08:00-11:00.
    start = _utc("2026-12-23T16:00:00+01:00")
    assert calendars.default.add(start=start, seconds=4 * 3600) == _utc("2026-12-28T11:00:00+01:00")
    # the yearly holiday repeats: 1 Jan 2027 (a Friday) is closed
    start = _utc("2026-12-31T16:30:00+01:00")
    assert calendars.default.add(start=start, seconds=3600) == _utc("2027-01-04T08:30:00+01:00")


def test_across_a_dst_change(calendars) -> None:
    # Prague moves to CEST on Sunday 29 March 2026. Friday 27th 16:30 CET (15:30 UTC) with 1 h:
    # 30 min on Friday, 30 min on Monday from 08:00 CEST = 06:00 UTC (not 07:00).
    start = _utc("2026-03-27T16:30:00+01:00")
    deadline = calendars.default.add(start=start, seconds=3600)
    assert deadline == datetime(2026, 3, 30, 6, 30, tzinfo=UTC)
    assert deadline == _utc("2026-03-30T08:30:00+02:00")


def test_an_open_range_across_a_dst_change_has_its_real_length() -> None:
    cal = parse_calendars(
        'version: "1"\ndefault: {time_zone: Europe/Prague, hours: {sun: "00:00-24:00"}}'
    ).default
    # 29 March 2026 in Prague is 23 hours long; 24 h of open time from its start end an hour
    # into the next open day (Sunday 5 April, CEST)
    start = _utc("2026-03-29T00:00:00+01:00")
    assert cal.add(start=start, seconds=23 * 3600) == _utc("2026-03-30T00:00:00+02:00")
    assert cal.add(start=start, seconds=24 * 3600) == _utc("2026-04-05T01:00:00+02:00")


def test_a_branch_in_another_time_zone(calendars) -> None:
    # Same instant, Friday 6 March 2026 16:50 in Prague = 10:50 in New York (EST): the New York
    # branch is open until 17:00 local, so 15 minutes end at 11:05 EST.
    start = _utc("2026-03-06T16:50:00+01:00")
    assert calendars.for_branch("BR-NYC").add(start=start, seconds=900) == _utc(
        "2026-03-06T11:05:00-05:00"
    )
    # New York changes to EDT on 8 March 2026, Prague only on 29 March: Monday 9 March 08:00 in
    # New York is 12:00 UTC. A Friday 16:55 EST start leaves 5 min, 10 more on Monday.
    friday = _utc("2026-03-06T16:55:00-05:00")
    assert calendars.for_branch("BR-NYC").add(start=friday, seconds=900) == datetime(
        2026, 3, 9, 12, 10, tzinfo=UTC
    )
    # the branch inherits the default's holidays: 25 Dec is closed in New York too
    xmas_eve = _utc("2026-12-24T16:00:00-05:00")
    assert calendars.for_branch("BR-NYC").add(start=xmas_eve, seconds=3600) == _utc(
        "2026-12-28T09:00:00-05:00"
    )


def test_an_unknown_branch_uses_the_default_and_an_open_branch_runs_around_the_clock(
    calendars,
) -> None:
    start = _utc("2026-03-07T10:00:00+01:00")  # Saturday
    assert calendars.for_branch("BR-OTHER") is calendars.default
    assert calendars.for_branch("BR-247").add(start=start, seconds=900) == start + timedelta(
        minutes=15
    )


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('version: "1"\ndefault: {time_zone: Mars/Olympus}', "default.time_zone"),
        ('version: "1"\ndefault: {hours: {mon: "09:00-08:00"}}', "end after it starts"),
        ('version: "1"\ndefault: {hours: {monday: "09:00-17:00"}}', "not a weekday"),
        ('version: "1"\ndefault: {hours: {mon: "9-17"}}', "HH:MM-HH:MM"),
        ('version: "1"\ndefault: {hours: {mon: ["08:00-12:00", "11:00-13:00"]}}', "overlap"),
        ('version: "1"\ndefault: {hours: {}}', "no open hours"),
        ('version: "1"\ndefault: {yearly_holidays: ["13-01"]}', "MM-DD"),
        ('version: "1"\ndefault: {holidays: [someday]}', "default.holidays.0"),
        ('version: "1"\nbranches: {B1: {timezone: UTC}}', "branches.B1.timezone"),
        ("default: {}", "version"),
        ("- a list", "must be a YAML mapping"),
    ],
)
def test_an_invalid_file_names_the_file_and_the_field(text: str, names: str) -> None:
    with pytest.raises(CalendarConfigError, match=r"bad\.yaml") as caught:
        parse_calendars(text, source="bad.yaml")
    assert names in str(caught.value)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CalendarConfigError, match=r"missing\.yaml"):
        load_calendars(tmp_path / "missing.yaml")
