"""Event-time units and the 7-day buckets in which account flow and activity are summed.

Buckets are aligned to the Unix epoch; "7d" is the bucket of the customer's newest event, "30d" the
newest five buckets (29-35 days). Six are kept so a sustained decline can be judged over two
overlapping four-week windows.
"""

from __future__ import annotations

from typing import Final

DAY: Final = 86_400
WEEK: Final = 7 * DAY
NINETY_DAYS: Final = 90 * DAY
FLOW_BUCKETS: Final = 6  # 7-day buckets kept: the 30-day window plus one week for the decline check

# Bucket row layout:
# [week, inflow, outflow, interbank_out, customer_txns, card_spend, online_txns, interbank_debits,
#  largest_interbank_debit (whole currency units, not cents)]
# "interbank" columns count money leaving (issue 15, ``facts.Txn.leaving``): debits to own accounts
# or investment platforms at other banks, and to unknown payees that are not recurring; bills and
# other spending at other banks are in outflow only. Card-account purchases are in card_spend only.
# The last column is appended only when the week has an interbank debit (most rows: 2 bytes less).
B_WEEK: Final = 0
B_IN: Final = 1
B_OUT: Final = 2
B_IB_OUT: Final = 3
B_ACTS: Final = 4
B_CARD: Final = 5
B_ONLINE: Final = 6
B_IB_N: Final = 7
B_IB_MAX: Final = 8
ROW_LEN: Final = 8  # columns every row has


def window_sum(flow: list[list[int]], column: int, buckets: int) -> int:
    """Sum of one bucket column over the newest ``buckets`` weeks."""
    if not flow:
        return 0
    floor = flow[-1][B_WEEK] - buckets + 1
    total = 0
    for row in flow:
        if row[B_WEEK] >= floor:
            total += row[column]
    return total


def month_totals(flow: list[list[int]]) -> tuple[int, int, int, int, int]:
    """The 30-day window (newest five buckets) in one pass: inflow, outflow, outflow to other
    banks, interbank debits, largest single interbank debit (whole units)."""
    inflow = outflow = ib_out = ib_n = ib_max = 0
    if flow:
        floor = flow[-1][B_WEEK] - 4
        for row in flow:
            if row[B_WEEK] >= floor:
                inflow += row[B_IN]
                outflow += row[B_OUT]
                ib_out += row[B_IB_OUT]
                ib_n += row[B_IB_N]
                if len(row) > B_IB_MAX and row[B_IB_MAX] > ib_max:
                    ib_max = row[B_IB_MAX]
    return inflow, outflow, ib_out, ib_n, ib_max


def closed_weeks(
    flow: list[list[int]], *, alpha: float, act_mean: float, folded: int
) -> tuple[float, list[int]] | None:
    """Customer-initiated counts of the five newest closed weeks (oldest first) and the weekly
    baseline ``act_mean`` as it stood before them (the EWMA folds of those weeks undone; ``folded``:
    the newest week folded), or None without buckets. The newest bucket's week is still open."""
    if not flow or alpha >= 1:
        return None
    oldest = flow[-1][B_WEEK] - 5  # the newest bucket's week minus five
    counts = [0, 0, 0, 0, 0]
    for row in flow:
        i = row[B_WEEK] - oldest
        if 0 <= i < 5:
            counts[i] = row[B_ACTS]
    # weeks oldest .. folded were folded into act_mean: unfold them, newest first
    base, keep = act_mean, 1 - alpha
    for i in range(min(folded - oldest, 4), -1, -1):
        base = (base - alpha * counts[i]) / keep
    return base, counts
