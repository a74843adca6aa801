"""Review periods: calendar months ("2026-11") or quarters ("2026-Q4"), in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class PeriodKind(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class PeriodError(ValueError):
    """A period label that does not match the configured period kind."""


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """One review period: ``index`` counts periods since year 0 so neighbours are index ± 1."""

    kind: PeriodKind
    index: int

    @property
    def months(self) -> int:
        return 1 if self.kind is PeriodKind.MONTHLY else 3

    @property
    def start(self) -> datetime:
        month0 = self.index * self.months
        return datetime(month0 // 12, month0 % 12 + 1, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive end: the start of the next period."""
        return self.next().start

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.MONTHLY:
            return f"{self.index // 12:04d}-{self.index % 12 + 1:02d}"
        return f"{self.index // 4:04d}-Q{self.index % 4 + 1}"

    def next(self) -> Period:
        return Period(self.kind, self.index + 1)

    def previous(self) -> Period:
        return Period(self.kind, self.index - 1)

    def __str__(self) -> str:
        return self.label


def parse_period(label: str, *, kind: PeriodKind) -> Period:
    """``"2026-11"`` (monthly) or ``"2026-Q4"`` (quarterly); raises ``PeriodError`` otherwise."""
    if kind is PeriodKind.MONTHLY:
        match = _MONTH.match(label)
        if match and 1 <= int(match.group(2)) <= 12:
            return Period(kind, int(match.group(1)) * 12 + int(match.group(2)) - 1)
        raise PeriodError(f"period {label!r} is not a month: expected YYYY-MM, e.g. 2026-11")
    match = _QUARTER.match(label)
    if match:
        return Period(kind, int(match.group(1)) * 4 + int(match.group(2)) - 1)
    raise PeriodError(f"period {label!r} is not a quarter: expected YYYY-Qn, e.g. 2026-Q4")


def period_containing(moment: datetime, *, kind: PeriodKind) -> Period:
    """The period that ``moment`` (timezone-aware) falls in."""
    utc = moment.astimezone(UTC)
    month0 = utc.year * 12 + utc.month - 1
    return Period(kind, month0 if kind is PeriodKind.MONTHLY else month0 // 3)


def last_closed_period(now: datetime, *, kind: PeriodKind) -> Period:
    """The newest period that has ended at ``now``."""
    return period_containing(now, kind=kind).previous()
