"""Silence rules (dormancy, missing payroll) evaluated by event time, not only on the customer's events.

A customer who goes completely silent sends no event that could fire a rule. Each customer
therefore has a *due* time: the earliest event time at which a silence rule could fire
(``last_act + dormant_days``, or the expected payday plus grace). Due times are rounded up to the
rule set's ``silence_step_hours`` grid, and a silence finding is always evaluated *at* that grid
time, whoever evaluates it first:

- the partition's event-time watermark (newest ``occurred_at`` applied on it) passing the time
  (``SilenceIndex`` in the worker's timer and in the backtest), or
- the customer's own next event at or after it (``Monitor.process`` catches up first).

Both give the same finding, the same ``occurred_at`` and the same deterministic alert id, so a
replay, a backtest and the live worker agree. Each silence episode alerts once: the rule's
cooldown memory holding a time after the episode began (``last_act`` / ``payroll_last``) means
it has fired; a new customer-initiated activity or payroll credit starts a new episode.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from churnwatch_state_monitor.engine.account_flow import on_grid
from churnwatch_state_monitor.engine.limits import Limits
from churnwatch_state_monitor.engine.rules import Context, Finding
from churnwatch_state_monitor.engine.state import CustomerState


def next_due(st: CustomerState, lim: Limits) -> int | None:
    """The earliest grid time at which a silence rule could fire for this state, or None.

    Written out for the two silence rules (dormancy, missing payroll): it runs several times per
    event. A new silence rule adds its ``due`` here as well as registering on ``SILENCE``.
    """
    dormancy = lim.dormancy.due(st)
    if lim.refresh and st.events:  # the score moves with time: refreshed while silent
        refresh = refresh_due(st, lim)
        if dormancy is None or refresh < dormancy:
            dormancy = refresh
    if not st.payroll_gap:  # no payroll cycle learnt (most customers): nothing else is due
        return dormancy
    payroll = lim.payroll.due(st)
    if dormancy is None or (payroll is not None and payroll < dormancy):
        return payroll
    return dormancy


def refresh_due(st: CustomerState, lim: Limits) -> int:
    """The grid time at which a silent customer's score is next refreshed (``lim.refresh`` after
    the newest event or refresh)."""
    last = max(st.newest, st.scored)
    return on_grid(last + lim.refresh, lim.step)


def findings(st: CustomerState, *, cx: Context, lim: Limits) -> list[Finding]:
    """Silence findings due at grid time ``cx.at`` (callers pass the grid time, see ``next_due``)."""
    found: list[Finding] = []
    for rule in lim.registry.silence:
        f = rule.judge(st, cx)
        if f is not None:
            found.append(f)
    return found


@dataclass(slots=True)
class SilenceIndex:
    """One partition's event-time watermark and its customers' silence due times.

    ``due`` maps customer -> due time; the heap may hold stale entries (skipped on pop, compacted
    when it grows past twice the live entries), so rescheduling is O(log n) and a tick touches
    only customers that are due.
    """

    watermark: int = 0
    due: dict[str, int] = field(default_factory=dict)
    _heap: list[tuple[int, str]] = field(default_factory=list)

    def observe(self, at: int) -> None:
        """An event with occurred_at ``at`` was applied on this partition."""
        if at > self.watermark:
            self.watermark = at

    def schedule(self, customer_id: str, due: int | None) -> None:
        """Set (or clear, with None) the customer's next due time."""
        if due is None:
            self.due.pop(customer_id, None)
            return
        if self.due.get(customer_id) == due:
            return
        self.due[customer_id] = due
        heapq.heappush(self._heap, (due, customer_id))
        if len(self._heap) > 2 * len(self.due) + 1024:
            self._heap = [(d, c) for c, d in self.due.items()]
            heapq.heapify(self._heap)

    def pop_due(self, *, limit: int) -> list[tuple[str, int]]:
        """Up to ``limit`` (customer, due) pairs with due <= watermark, earliest first."""
        out: list[tuple[str, int]] = []
        heap, due, mark = self._heap, self.due, self.watermark
        while heap and len(out) < limit and heap[0][0] <= mark:
            at, customer_id = heapq.heappop(heap)
            if due.get(customer_id) == at:
                del due[customer_id]
                out.append((customer_id, at))
        return out


def schedule_batch(
    indexes: dict[int, SilenceIndex],
    dirty: dict[str, int],
    states: dict[str, CustomerState],
    lim: Limits,
) -> None:
    """A batch changed the customers in ``dirty`` (customer -> partition; final states in
    ``states``): each partition's watermark takes their newest event times and each customer's
    due time comes from its final state (compiled: it runs for every changed customer)."""
    for customer_id, partition in dirty.items():
        index = indexes.get(partition)
        if index is not None:
            st = states[customer_id]
            index.observe(st.newest)
            index.schedule(customer_id, next_due(st, lim))
