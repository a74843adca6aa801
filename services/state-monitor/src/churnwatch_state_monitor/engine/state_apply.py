"""How each event changes a customer's state record (``state.CustomerState``): the updates per
event type, the weekly buckets and their baselines, the balance, payroll and engagement periods.

Free functions over the record rather than its methods, so the record's module keeps only its
fields, stored form and derived values (one field list: ``state.CustomerState``). Compiled with
the rest of the engine, a call here costs what a method call did.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Final

from churnwatch_shared.events import ProductKind
from churnwatch_state_monitor.engine.buckets import (
    B_ACTS,
    B_CARD,
    B_IB_MAX,
    B_IB_N,
    B_IB_OUT,
    B_IN,
    B_ONLINE,
    B_OUT,
    B_WEEK,
    DAY,
    FLOW_BUCKETS,
    NINETY_DAYS,
    WEEK,
)
from churnwatch_state_monitor.engine.facts import Fx, Txn
from churnwatch_state_monitor.engine.payees import recurring
from churnwatch_state_monitor.engine.state import (
    CLASS_RANK,
    CONTACTS_KEPT,
    KACCT_CHARS,
    MONTH,
    MONTHS,
    PAYROLL_MIN_GAP_DAYS,
    PRODUCT_BIT,
    RECENT_CAP,
    RISK_STAMPS,
    YEAR,
    CustomerState,
)

# enum members as constants: an Enum class attribute costs a lookup
_DEMAND: Final = ProductKind.DEMAND
_TIME_DEPOSIT: Final = ProductKind.TIME_DEPOSIT
_LOAN: Final = ProductKind.LOAN
_INVESTMENT: Final = ProductKind.INVESTMENT
_CARD: Final = ProductKind.CARD
_NO_TOTALS: dict[ProductKind, int] = dict.fromkeys(ProductKind, 0)
_WEEK_OF = itemgetter(B_WEEK)


def _stamped(
    st: CustomerState, stamps: tuple[int, ...], at: int, *, keep: int = NINETY_DAYS
) -> tuple[int, ...]:
    """``stamps`` plus ``at``, without those older than ``keep`` seconds or beyond the cap."""
    kept = sorted((*stamps, at))
    floor = st.newest - keep
    cap = RECENT_CAP if keep == NINETY_DAYS else RISK_STAMPS
    while kept and (kept[0] < floor or len(kept) > cap):
        kept.pop(0)
    return tuple(kept)


def _bucket(st: CustomerState, at: int, *, alpha: float) -> list[int] | None:
    week = at // WEEK
    if st.flow and st.flow[-1][B_WEEK] == week:  # the newest week: most events
        return st.flow[-1]
    if not st.flow or week > st.flow[-1][B_WEEK]:
        st.flow.append([week, 0, 0, 0, 0, 0, 0, 0])
        _fold(st, upto=week - 2, alpha=alpha)
        if len(st.flow) > FLOW_BUCKETS:
            del st.flow[: len(st.flow) - FLOW_BUCKETS]
        return st.flow[-1]
    for row in reversed(st.flow):
        if row[B_WEEK] == week:
            return row
        if row[B_WEEK] < week:
            row = [week, 0, 0, 0, 0, 0, 0, 0]
            st.flow.append(row)
            st.flow.sort(key=_WEEK_OF)
            return row
    return None  # older than every bucket kept: outside the windows


def _fold(st: CustomerState, *, upto: int, alpha: float) -> None:
    """Fold closed weeks (no longer reachable by late events) into the EWMA baselines."""
    if st.folded < 0:
        st.folded = st.flow[0][B_WEEK] - 1
    counts = {row[B_WEEK]: row for row in st.flow}
    start = max(st.folded + 1, upto - 52)
    for week in range(start, upto + 1):
        row = counts.get(week)
        acts = row[B_ACTS] if row else 0
        card = row[B_CARD] if row else 0
        online = row[B_ONLINE] if row else 0
        if st.weeks == 0:
            st.act_mean, st.card_mean, st.online_mean = (
                float(acts),
                float(card),
                float(online),
            )
        else:
            delta = acts - st.act_mean
            st.act_mean += alpha * delta
            st.act_var = (1 - alpha) * (st.act_var + alpha * delta * delta)
            st.card_mean += alpha * (card - st.card_mean)
            st.online_mean += alpha * (online - st.online_mean)
        st.weeks += 1
    st.folded = max(st.folded, upto)


def _track_balance(st: CustomerState, balance: int, at: int) -> None:
    units = balance // 100
    if st.adb_at and at > st.adb_at and st.liquid is not None:
        days = (at - st.adb_at) / DAY
        w30 = min(1.0, days / 30)
        w90 = min(1.0, days / 90)
        st.adb30 += w30 * (st.liquid - st.adb30)
        st.adb90 += w90 * (st.liquid - st.adb90)
        held = st.liquid // 100
        if held > st.low:  # recovers toward the balance held since the last one
            st.low += int(w90 * (held - st.low))
        if units < st.low:
            st.low = units
    elif not st.adb_at:
        st.adb30 = st.adb90 = float(balance)
        st.low = units
    elif units < st.low:
        st.low = units
    st.adb_at = max(st.adb_at, at)
    st.liquid = balance
    if balance < 0:  # overdrawn: an episode begins (risk state, issue 15 cause 6)
        if not st.overdrawn:
            st.overdrawn = at
            st.ods = _stamped(st, st.ods, at, keep=YEAR)
    elif st.overdrawn:
        st.overdrawn = 0


def apply_transaction(
    st: CustomerState, t: Txn, at: int, *, alpha: float, card: bool = False
) -> int | None:
    """Apply a posted transaction; returns the balance before it (cents) if known.

    ``card``: it is posted on a card account, a credit line: a purchase is usage that raises
    what is owed (not money leaving the funds), a repayment lowers it, and its balance is no
    funds balance."""
    amount, debit, after = t.amount, t.debit, t.after
    before: int | None
    if card:
        before = after = None
    elif after is not None:
        before = after + amount if debit else after - amount
    else:
        before = st.liquid
        after = None if before is None else (before - amount if debit else before + amount)
    if after is not None and at >= st.newest:
        _track_balance(st, after, at)
    if t.skipped:
        st.nofx += 1
    if t.payee is not None and recurring(st.payees, t.payee, at):
        t.leaving = False  # a payee paid month after month: a bill or rent, not flight
        t.discretionary = False  # ... and a regular flow, not engagement
    if t.penalty and debit:
        _penalty(st, amount, at)
    flow = st.flow
    row = flow[-1] if flow and flow[-1][B_WEEK] == at // WEEK else _bucket(st, at, alpha=alpha)
    if row is not None:
        if card:
            pass  # neither funds in nor out: usage (card spend, below) or a repayment
        elif debit:
            row[B_OUT] += amount
            if t.leaving:
                row[B_IB_OUT] += amount
                row[B_IB_N] += 1
                # whole currency units: a share needs no cents, the record stays small
                if len(row) == B_IB_MAX:
                    row.append(0)
                row[B_IB_MAX] = max(row[B_IB_MAX], amount // 100)
        else:
            row[B_IN] += amount
        if t.customer_initiated:
            row[B_ACTS] += 1
            if t.online:
                row[B_ONLINE] += 1
        if t.card_spend or (card and debit):
            row[B_CARD] += amount
    if t.customer_initiated:
        if t.discretionary:  # engagement periods: discretionary activity only
            _engaged(st, at, amount)
        if at > st.last_act:
            st.last_act = at
    if not debit and t.payroll:
        _payroll(st, at, alpha=alpha)
    return before


def _engaged(st: CustomerState, at: int, amount: int) -> None:
    """Count one customer-initiated transaction in its 30-day period (the rows shift only
    when a new period begins; a late event in a period no longer kept is not counted)."""
    period = at // MONTH
    mtx, mamt = st.mtx, st.mamt
    if not mtx:
        st.mtx = [1]
        st.mamt = [amount // 100]
        st.mon = st.mfirst = period
        return
    if period > st.mon:
        roll(st, period)
    back = st.mon - period  # periods before the newest
    if back < MONTHS:
        i = len(mtx) - 1 - back
        if i < 0:  # a late event before the first one counted: the rows begin earlier
            mtx[:0] = [0] * -i
            mamt[:0] = [0] * -i
            i = 0
        mtx[i] += 1
        mamt[i] += amount // 100
    if period < st.mfirst:
        st.mfirst = period


def roll(st: CustomerState, period: int) -> None:
    """Move the newest period to ``period``: new ones start at 0, the oldest shift out."""
    shift = period - st.mon
    if shift <= 0 or not st.mtx:
        return
    zeros = [0] * min(shift, MONTHS)
    st.mtx.extend(zeros)
    st.mamt.extend(zeros)
    if len(st.mtx) > MONTHS:
        del st.mtx[: len(st.mtx) - MONTHS]
        del st.mamt[: len(st.mamt) - MONTHS]
    st.mon = period


def _penalty(st: CustomerState, amount: int, at: int) -> None:
    """Penalty interest charged (on an overdraft or an overdue amount): counted for 90 days,
    summed while the postings continue (a gap of 90 days starts the sum again)."""
    if not st.recent(st.pens):
        st.pen_od = 0
    st.pens = _stamped(st, st.pens, at, keep=YEAR)
    st.pen_od += amount


def apply_contact(st: CustomerState, at: int) -> None:
    """A contact the customer started (call, visit, message): counted for 90 days."""
    contacts = _stamped(st, st.contacts, at)
    st.contacts = contacts[-CONTACTS_KEPT:] if len(contacts) > CONTACTS_KEPT else contacts


def _payroll(st: CustomerState, at: int, *, alpha: float) -> None:
    """A payroll credit: learn the usual gap, ignoring bonuses soon after a payday."""
    if st.payroll_last:
        gap = (at - st.payroll_last) / DAY
        if gap < PAYROLL_MIN_GAP_DAYS:
            return  # a bonus, a correction, or a late event before the last payday
        st.payroll_gap = (
            gap if not st.payroll_gap else st.payroll_gap + alpha * (gap - st.payroll_gap)
        )
    st.payroll_last = at
    st.payroll_seen += 1


def apply_snapshot(st: CustomerState, p: Any, at: int, *, alpha: float, fx: Fx) -> None:
    """Apply a balance.snapshot: totals by product kind replace the previous ones.

    Funds are demand (negative: overdrawn), time deposits and investments; loans and cards
    are what the customer owes. A snapshot without a funds account (a card-only customer)
    leaves the funds balance unknown rather than zero. Amounts are converted into the
    reporting currency; one in a currency without a rate is left out (``nofx``)."""
    totals = _NO_TOTALS.copy()
    funds = False
    od_limit = 0
    for b in p.balances:
        kind = b.product_kind
        balance = fx.minor(b.balance, b.currency, at)
        if balance is None:
            st.nofx += 1
            continue
        totals[kind] += balance
        if kind is _CARD:
            mark = f"|{b.account_id}|"
            if mark not in st.kacct and len(st.kacct) < KACCT_CHARS:
                st.kacct += mark
        else:
            funds = funds or kind is not _LOAN
            if kind is _DEMAND and b.overdraft_limit is not None:
                limit = fx.minor(b.overdraft_limit, b.currency, at)
                od_limit += 0 if limit is None else limit
    old_time = st.time_dep
    had_snapshot = st.peak_assets > 0 or old_time > 0
    st.demand = totals[_DEMAND]
    st.time_dep = totals[_TIME_DEPOSIT]
    st.loans = totals[_LOAN]
    st.invest = totals[_INVESTMENT]
    st.time_shift = max(0, st.time_dep - old_time) if had_snapshot else 0
    assets = st.assets
    st.assets_base = (
        float(assets) if not st.assets_base else st.assets_base + alpha * (assets - st.assets_base)
    )
    st.peak_assets = max(st.peak_assets, assets)
    st.od_limit = od_limit
    if funds:
        _track_balance(st, st.demand, at)
    _bucket(st, at, alpha=alpha)


def apply_product(st: CustomerState, product: str, *, subscribed: bool, at: int) -> None:
    """A product subscribed (its bit set) or cancelled (cleared; a cancellation for 90 days)."""
    bit = PRODUCT_BIT[product]
    if subscribed:
        st.products |= bit
    else:
        st.products &= ~bit
        st.cancels = _stamped(st, st.cancels, at)


def apply_account_closed(st: CustomerState, at: int) -> None:
    """A closed account counts as a cancellation in the 90-day product-usage window."""
    st.cancels = _stamped(st, st.cancels, at)


def apply_complaint(st: CustomerState, at: int) -> None:
    """A complaint filed: open until resolved, counted for 90 days."""
    st.open_complaints += 1
    st.complaints = _stamped(st, st.complaints, at)


def apply_bounce(st: CustomerState, at: int) -> None:
    """A bounced payment, counted for 90 days."""
    st.bounces = _stamped(st, st.bounces, at)


def apply_classification(st: CustomerState, classification: str) -> int:
    """Record a loan classification; returns the previous worst rank."""
    previous = st.worst_class
    st.worst_class = max(previous, CLASS_RANK[classification])
    return previous
