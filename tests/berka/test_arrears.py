"""Loan arrears from the instalment schedule (``churnwatch_berka.arrears``): a missed instalment
reaches the engine as ``loan.overdue``, as a core banking system reports it (issue 15, risk)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from churnwatch_berka.loader import events, select
from tests.berka.conftest import Loaded

LATE_LOAN = "berka.l5314"  # granted 1993-07-05, 12 x 8,033 CZK; the first instalment 1994-03-12


def _overdue(evs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in evs:
        if e["event_type"] == "loan.overdue":
            out.setdefault(e["payload"]["loan_id"], []).append(e)
    return out


def test_only_the_loan_whose_instalments_were_not_paid_is_in_arrears(berka: Loaded) -> None:
    overdue = _overdue(berka.events)
    assert list(overdue) == [LATE_LOAN]  # the 37 other loans of the window paid on schedule
    months = overdue[LATE_LOAN]
    # due 5 Aug, 5 Sep, ... : unpaid from the August month end on
    assert [e["occurred_at"][:10] for e in months] == [
        "1993-08-31", "1993-09-30", "1993-10-31", "1993-11-30", "1993-12-31",
        "1994-01-31", "1994-02-28", "1994-03-31",
    ]  # fmt: skip
    first, last = months[0]["payload"], months[-1]["payload"]
    assert (first["days_past_due"], first["overdue_amount"]) == (26, "8033.00")
    # 8 due by 31 Mar, 1 paid (12 Mar): the oldest unpaid fell due on 5 Sep
    assert last["days_past_due"] == (date(1994, 3, 31) - date(1993, 9, 5)).days
    assert Decimal(last["overdue_amount"]) == 7 * Decimal("8033.00")


def test_arrears_paid_off_send_a_cure(berka: Loaded) -> None:
    # the late loan's owner pays the seven instalments in arrears on 20 Mar 1994
    paid = next(t for t in berka.data.trans if t.k_symbol == "UVER" and t.account_id == 1787)
    extra = [
        dataclasses.replace(paid, trans_id=10**8 + i, booked=date(1994, 3, 20)) for i in range(7)
    ]
    data = dataclasses.replace(berka.data, trans=[*berka.data.trans, *extra])
    book = select(data=data, until=date(1994, 3, 31))
    months = _overdue(events(book=book))[LATE_LOAN]
    assert months[-2]["occurred_at"][:10] == "1994-02-28"
    assert months[-1]["occurred_at"][:10] == "1994-03-31"
    assert months[-1]["payload"]["days_past_due"] == 0
    assert months[-1]["payload"]["overdue_amount"] == "0.00"
