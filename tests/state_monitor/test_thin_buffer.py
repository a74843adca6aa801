"""A thin buffer in the risk state (issue 15 on real data): the balance an account keeps falling
to before income arrives, tracked as a low-water mark (``CustomerState.low``), is small."""

from __future__ import annotations

from churnwatch_state_monitor.engine.overdraft import BUFFER_POINTS
from churnwatch_state_monitor.ruleset import load_ruleset
from tests.state_monitor.test_account_model import monitor_reasons
from tests.state_monitor.test_detection_causes import Book, final_snapshot, run

SALARY = 9000


def earner(customer: str, *, keeps: int, months: int = 6) -> Book:
    """A salary each month, spent down to ``keeps`` by the month's end (cash, four times)."""
    b = Book(customer)
    b.profile()
    b.balances(0, b.demand(f"{keeps}.00"))
    balance = keeps
    for month in range(months):
        balance += SALARY
        b.post(month * 30 + 1, f"{SALARY}.00", direction="credit", category="payroll_credit",
               channel="batch", balance_after=f"{balance}.00")  # fmt: skip
        for week in range(4):
            balance -= SALARY // 4
            b.post(month * 30 + 5 + 6 * week, f"{SALARY // 4}.00", category="cash",
                   channel="atm", balance_after=f"{balance}.00")  # fmt: skip
    return b


def _risk(customer: str, keeps: int) -> tuple[dict, set[str]]:
    rec, monitor = run(*earner(customer, keeps=keeps).events)
    risk = final_snapshot(rec, monitor, customer)["states"]["risk"]
    return risk, {code for code, _, _ in monitor_reasons(monitor, rec, customer)}


def test_a_balance_that_keeps_falling_near_zero_is_a_thin_buffer() -> None:
    risk, codes = _risk("thin-1", keeps=200)
    floor = int(load_ruleset().risk.thin_buffer)
    # the mark sits at the month-end trough (200), not at the average balance (~4,700)
    assert 200 <= float(risk["metrics"]["balance_low_water"]) < 1000
    assert risk["score"] >= round(BUFFER_POINTS * (floor - 1000) / floor, 1)
    assert "thin_buffer" in codes


def test_a_customer_who_keeps_a_reserve_has_no_thin_buffer() -> None:
    risk, codes = _risk("reserve-1", keeps=20_000)
    assert float(risk["metrics"]["balance_low_water"]) >= 20_000
    assert risk["score"] == 0
    assert "thin_buffer" not in codes


def test_a_thin_buffer_ranks_below_an_overdraft() -> None:
    thin, _ = _risk("thin-2", keeps=0)
    overdrawn, _ = _risk("od-2", keeps=-100)
    assert 0 < thin["score"] <= BUFFER_POINTS < overdrawn["score"]


def test_a_new_account_is_not_judged_on_its_opening_balance() -> None:
    b = earner("new-1", keeps=100, months=2)  # eight weeks: less than a quarter of history
    rec, monitor = run(*b.events)
    assert final_snapshot(rec, monitor, "new-1")["states"]["risk"]["score"] == 0
