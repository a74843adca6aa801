"""Loan arrears as a core banking system reports them: days past due from the instalment schedule.

Berka's loan table gives each loan's schedule (granted on, ``duration_months`` monthly
instalments of ``payment``) and its transactions give the instalments actually paid (``UVER``).
A loan system compares the two every day and reports days past due; the loader sends what it
would report at each month end as ``loan.overdue`` (the catalogue's event for it):

- instalment k (k = 1 .. duration) is due k months after the grant;
- paid instalments are counted, not matched to dates: paying ahead is allowed, and a late
  instalment settles the oldest one due;
- at a month end where fewer instalments were paid than were due, days past due are counted from
  the oldest unpaid due date and the overdue amount is the unpaid instalments; the first month end
  after the arrears are cleared sends ``days_past_due`` 0 (cured).

This uses the payments the bank booked, never the loan's outcome (status A-D).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from churnwatch_berka.tables import Loan


@dataclass(frozen=True, slots=True)
class Arrears:
    """A loan's arrears at one month end (``days_past_due`` 0: cured since the last one)."""

    as_of: date
    days_past_due: int
    unpaid: int  # instalments due and not paid
    overdue_amount: Decimal


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the last day of a shorter month if needed)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    for d in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def arrears(*, loan: Loan, paid_on: list[date], month_ends: Iterable[date]) -> Iterator[Arrears]:
    """The loan's arrears at each month end from its grant on (``paid_on``: instalment dates)."""
    due_dates = [add_months(loan.granted, k) for k in range(1, loan.duration_months + 1)]
    paid_sorted = sorted(paid_on)
    behind = False
    for end in month_ends:
        if end < loan.granted:
            continue
        due = sum(1 for d in due_dates if d <= end)
        paid = sum(1 for d in paid_sorted if d <= end)
        if due > paid:
            behind = True
            oldest = due_dates[paid]  # instalments settle the oldest due first
            unpaid = due - paid
            yield Arrears(end, (end - oldest).days, unpaid, loan.payment * unpaid)
        elif behind:
            behind = False
            yield Arrears(end, 0, 0, Decimal(0))
