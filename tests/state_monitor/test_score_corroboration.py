"""The churn score judges change against the customer's own variability and needs corroboration.

Issue 15 follow-up: quiet leavers ranked like stayers (a fall judged as a fixed ratio whatever the
customer's rate) and noisy stayers reached warning on one signal (a lump sum, a life in
overdraft). Each test failed on the engine before the change.
"""

from __future__ import annotations

from churnwatch_state_monitor.engine.engagement import Signals, signals
from churnwatch_state_monitor.engine.scoring import score_with
from churnwatch_state_monitor.engine.state import DAY, MONTH, CustomerState
from churnwatch_state_monitor.ruleset import limits_of, load_ruleset
from tests.state_monitor.test_detection_causes import (
    WARNING,
    WEEK,
    Book,
    max_level,
    run,
    score_at,
)

NOW = 700 * MONTH + 20 * DAY  # two thirds into a 30-day period


def _customer(per_month: int, recent: list[int]) -> CustomerState:
    """Nine complete periods at ``per_month`` transactions, then ``recent`` (oldest first, the
    last one the open period)."""
    st = CustomerState()
    history = [per_month] * 9 + recent
    st.mtx = list(history)
    st.mamt = [n * 100 for n in history]
    st.mon = NOW // MONTH
    st.mfirst = st.mon - len(history) + 1
    st.newest = st.last_act = NOW
    return st


def _own(st: CustomerState) -> float:
    eng = limits_of(load_ruleset()).engagement
    assert eng is not None
    return signals(st, eng, Signals()).own


def test_the_same_relative_fall_is_strong_for_a_busy_customer_and_noise_for_a_quiet_one() -> None:
    busy = _own(_customer(40, [27, 27, 18]))  # a third fewer for three periods
    quiet = _own(_customer(3, [2, 2, 1]))
    print(f"own-history signal: busy {busy:.2f}, quiet {quiet:.2f}")
    assert busy >= 0.5
    assert quiet == 0.0


def test_a_quiet_customer_who_stops_is_judged_on_its_own_cadence() -> None:
    eng = limits_of(load_ruleset()).engagement
    assert eng is not None
    st = _customer(2, [2, 2, 1])
    st.last_act = NOW - 10 * DAY
    ten = signals(st, eng, Signals()).recency
    st.last_act = NOW - 60 * DAY
    st.mtx[-2:] = [0, 0]
    sixty = signals(st, eng, Signals())
    print(f"recency: 10 days idle {ten:.2f}, 60 days {sixty.recency:.2f}, own {sixty.own:.2f}")
    assert ten == 0.0
    assert sixty.recency >= 0.3


def test_a_fall_that_lasts_two_periods_raises_the_score() -> None:
    """Half the usual count for two periods (four a month, then two, then one) is a fade even
    though no single period is far below: the same recent activity with a history at that
    rate scores lower (identical peers, recency, inactivity; only the own history differs)."""
    lim = limits_of(load_ruleset())
    fall = score_with(_customer(4, [4, 2, 1]), lim)
    usual = score_with(_customer(2, [4, 2, 1]), lim)
    print(f"score after a two-period fall {fall.churn}, same activity as usual {usual.churn}; "
          f"reasons {fall.reasons}")  # fmt: skip
    assert fall.churn >= usual.churn + 1.0
    assert "activity_below_own_history" in [code for code, _, _ in fall.reasons]


def _noisy_stayer(customer: str, *, complaint: bool) -> Book:
    """Card payments as usual and one lump sum (60% of the balance) to another bank, payee of
    unknown kind (a purchase, a loan to family: the bank cannot tell it from money leaving);
    with ``complaint`` a complaint a week later."""
    b = Book(customer)
    b.profile()
    b.add(0, "product.subscribed", {"product": "debit_card"})
    balance = 50_000
    b.balances(0, b.demand(f"{balance}.00"))
    for week in range(20):
        for k in (1, 4):
            balance -= 200
            b.post(week * WEEK + k, "200.00", category="card_spend", channel="pos",
                   counterparty_kind="merchant", balance_after=f"{balance}.00")  # fmt: skip
        if week % 4 == 3:
            balance += 1600
            b.post(week * WEEK + 5, "1600.00", direction="credit", category="payroll_credit",
                   channel="batch", income_kind="salary", balance_after=f"{balance}.00")  # fmt: skip
            b.balances(week * WEEK + 6, b.demand(f"{balance}.00"))
    lump = balance * 6 // 10
    balance -= lump
    b.post(20 * WEEK + 2, f"{lump}.00", category="interbank_transfer", channel="online",
           counterparty_bank="PCBCCNBJ", counterparty_is_own_bank=False,
           balance_after=f"{balance}.00")  # fmt: skip
    for week in range(21, 28):
        for k in (1, 4):
            balance -= 200
            b.post(week * WEEK + k, "200.00", category="card_spend", channel="pos",
                   counterparty_kind="merchant", balance_after=f"{balance}.00")  # fmt: skip
        if week % 4 == 3:
            balance += 1600
            b.post(week * WEEK + 5, "1600.00", direction="credit", category="payroll_credit",
                   channel="batch", income_kind="salary", balance_after=f"{balance}.00")  # fmt: skip
    if complaint:
        b.add(21 * WEEK, "complaint.filed", {"complaint_id": f"{customer}-Q1", "category": "fees",
              "severity": "medium", "channel": "branch"})  # fmt: skip
    return b


def test_one_lump_sum_alone_does_not_make_a_churn_warning() -> None:
    rec, _ = run(*_noisy_stayer("lump-1", complaint=False).events)
    print(f"max level {max_level(rec, 'lump-1')}, series tail {rec.series['lump-1'][-3:]}")
    assert max_level(rec, "lump-1") < WARNING


def test_a_lump_sum_with_a_complaint_is_corroborated() -> None:
    rec, _ = run(*_noisy_stayer("lump-2", complaint=True).events)
    alone, _ = run(*_noisy_stayer("lump-3", complaint=False).events)
    with_complaint = score_at(rec, "lump-2", 21 * WEEK + 1)[0]
    without = score_at(alone, "lump-3", 21 * WEEK + 1)[0]
    print(f"score with complaint {with_complaint}, without {without}")
    assert max_level(rec, "lump-2") >= WARNING
    assert with_complaint > without


def _overdraft_regular(customer: str) -> Book:
    """Salary monthly, spending a little more than it: overdrawn at each month's end and
    charged penalty interest, every month, for half a year; activity as usual."""
    b = Book(customer)
    b.profile()
    b.add(0, "product.subscribed", {"product": "debit_card"})
    limit = {"overdraft_limit": "5000.00"}
    balance = 500
    b.balances(0, b.demand(f"{balance}.00", **limit))
    for month in range(7):
        base = month * 30
        balance += 4000
        b.post(base + 1, "4000.00", direction="credit", category="payroll_credit",
               channel="batch", income_kind="salary", balance_after=f"{balance}.00")  # fmt: skip
        for k in range(6):
            balance -= 750
            b.post(base + 3 + 4 * k, "750.00", category="card_spend", channel="pos",
                   counterparty_kind="merchant", balance_after=f"{balance}.00")  # fmt: skip
        if balance < 0:
            balance -= 9
            b.post(base + 28, "9.00", category="penalty_interest", channel="batch",
                   balance_after=f"{balance}.00")  # fmt: skip
        b.balances(base + 29, b.demand(f"{balance}.00", **limit))
        balance += 600  # a relative helps out at the month's end
        b.post(base + 29, "600.00", direction="credit", category="interbank_transfer",
               channel="batch", counterparty_kind="person", balance_after=f"{balance}.00")  # fmt: skip
    return b


def test_a_customer_living_in_overdraft_who_stays_active_is_not_a_churn_warning() -> None:
    rec, _ = run(*_overdraft_regular("od-1").events)
    risk = [
        a for a in rec.alerts if a["customer_id"] == "od-1" and a["rule_id"].startswith("risk.")
    ]
    print(f"max level {max_level(rec, 'od-1')}, risk alerts {len(risk)}")
    assert max_level(rec, "od-1") < WARNING


def _salary_redirected(customer: str) -> Book:
    """Salary for five months; then it stops arriving while card spending goes on."""
    b = Book(customer)
    b.profile()
    b.add(0, "product.subscribed", {"product": "debit_card"})
    balance = 20_000
    b.balances(0, b.demand(f"{balance}.00"))
    for month in range(8):
        base = month * 30
        if month < 5:
            balance += 6000
            b.post(base + 1, "6000.00", direction="credit", category="payroll_credit",
                   channel="batch", income_kind="salary", counterparty_kind="employer",
                   purpose_code="SALA", counterparty_is_own_bank=False,
                   balance_after=f"{balance}.00")  # fmt: skip
        for k in range(5):
            balance -= 900
            b.post(base + 3 + 5 * k, "900.00", category="card_spend", channel="pos",
                   counterparty_kind="merchant", balance_after=f"{balance}.00")  # fmt: skip
        b.balances(base + 29, b.demand(f"{balance}.00"))
    return b


def test_salary_redirected_elsewhere_reaches_warning() -> None:
    rec, _ = run(*_salary_redirected("salary-1").events)
    before, _ = score_at(rec, "salary-1", 5 * 30 - 2)
    print(f"score before the missing salary {before}; series tail {rec.series['salary-1'][-3:]}")
    assert max_level(rec, "salary-1") >= WARNING
    assert score_at(rec, "salary-1", 5 * 30 - 2)[1] < WARNING


def test_the_worst_case_state_record_stays_within_one_kib() -> None:
    """Every retained list at its cap, every amount at a big bank's largest, every kept stamp at
    the far end of its window (schema 8 stores stamps as offsets back from ``newest``: the oldest
    cost most), cooldowns ten years old: the encoded record (the table value) is at most 1 KiB
    (schema 7's JSON array: 2,137 bytes)."""
    from churnwatch_state_monitor.engine.buckets import B_IB_MAX, FLOW_BUCKETS
    from churnwatch_state_monitor.engine.facts import FINGERPRINT_CHARS
    from churnwatch_state_monitor.engine.payees import PAYEES_KEPT
    from churnwatch_state_monitor.engine.state import (
        CONTACTS_KEPT,
        KACCT_CHARS,
        MONTHS,
        RECENT_CAP,
        RISK_STAMPS,
        SCHEMA_4_COOLDOWN_ORDER,
    )

    lim = limits_of(load_ruleset())
    at = 1_900_000_000  # epoch seconds in 2030: ten digits
    d90 = at - 90 * DAY + 1  # the oldest stamp a 90-day count keeps
    d365 = at - 365 * DAY + 1  # ... a 365-day count (overdraft episodes, penalty postings)
    long_ago = at - 10 * 365 * DAY
    big = 999_999_999_99  # just under a billion (units) in cents
    st = CustomerState(
        newest=at, events=10**9, seen="A" * FINGERPRINT_CHARS * lim.dedup_window,
        tier="private_banking", segment="small_business", branch="BR-000000",
        since=long_ago, demand=big, time_dep=big, loans=big, invest=big, liquid=-big,
        adb30=-1234567890.123456, adb90=-1234567890.123456, adb_at=at,
        assets_base=1234567890123.4567, peak_assets=big * 3, act_mean=123.45678901234567,
        act_var=12345.678901234567, card_mean=1234567.8901234567,
        online_mean=123.45678901234567, weeks=10**6, folded=at // 604800, last_act=at,
        time_shift=big, dpd=9999, overdue=big, penalty=big, worst_class=4,
        bounces=(d90,) * RECENT_CAP, payroll_last=at, payroll_seen=10**6,
        payroll_gap=30.123456789012345, products=2**20 - 1, accounts=999,
        cancels=(d90,) * RECENT_CAP, complaints=(d90,) * RECENT_CAP, open_complaints=999,
        cool={code: [long_ago, 3] for code in SCHEMA_4_COOLDOWN_ORDER},  # every rule's code
        churn=99.9, level=3, off=2**53, band=2, fading=at // 604800,
        kacct="|" + "9" * (KACCT_CHARS - 2) + "|", od_limit=big, overdrawn=at,
        ods=(d365,) * RISK_STAMPS, pens=(d365,) * RISK_STAMPS, pen_od=big,
        payees=[(1 << 44) - 1] * PAYEES_KEPT, nofx=10**6, mon=at // MONTH,
        mfirst=at // MONTH - MONTHS + 1, mtx=[9999] * MONTHS, mamt=[99_999_999] * MONTHS,
        contacts=(d90,) * CONTACTS_KEPT, card_limit=big, card_owed=big, scored=at,
        churn_alert=at * 4 + 3, low=-big // 100,
    )  # fmt: skip
    row = [big, big, 99999, big, 99999, big, 9999, 99_999_999_999]
    st.flow = [[at // WEEK - FLOW_BUCKETS + 1 + i, *row[:B_IB_MAX]] for i in range(FLOW_BUCKETS)]
    size = len(st.encode())
    print(f"worst-case record: {size} bytes")
    assert CustomerState.decode(st.encode()) == st
    assert size <= 1024, size


def _salaried(customer: str, *, fade_month: int | None, months: int) -> Book:
    """Salary and two standing-order bills every month (batch-booked), and six card purchases a
    month; from ``fade_month`` one card purchase a month while salary and bills go on."""
    b = Book(customer)
    b.profile()
    b.balances(0, b.demand("20000.00"))
    for month in range(months):
        base = month * 30
        b.post(base + 1, "5600.00", direction="credit", category="payroll_credit", channel="batch",
               income_kind="salary", counterparty_kind="employer", counterparty_is_own_bank=False)  # fmt: skip
        for day, kind in ((5, "biller"), (6, "insurer")):
            b.post(base + day, "300.00", category="agency_payment", channel="batch",
                   counterparty_kind=kind, counterparty_id=f"{customer}-{kind}",
                   counterparty_is_own_bank=False, standing_order_id=f"{customer}-SO-{kind}")  # fmt: skip
        fading = fade_month is not None and month >= fade_month
        for day in (3, 8, 12, 17, 21, 26)[: 1 if fading else 6]:
            b.post(base + day, "120.00", category="card_spend", channel="pos")
        b.balances(base + 29, b.demand("20000.00"))
    return b


def test_engagement_counts_discretionary_activity_not_salary_and_standing_orders() -> None:
    # engagement periods count what the customer does by choice: a month of salary, two
    # standing-order bills and six card purchases is six, not nine
    rec, _ = run(*_salaried("steady-d", fade_month=None, months=3).events)
    st = rec.states["steady-d"]
    assert sum(st.mtx) == 3 * 6, st.mtx


def test_a_fade_of_spending_is_judged_while_salary_and_bills_go_on() -> None:
    months = 10
    rec, _ = run(*_salaried("steady-s", fade_month=None, months=months).events,
                 *_salaried("fading-s", fade_month=6, months=months).events)  # fmt: skip
    end = months * 30 - 2
    steady, _ = score_at(rec, "steady-s", end)
    fading, _ = score_at(rec, "fading-s", end)
    print(f"steady {steady}, fading {fading} (spending at 1/6 for four months)")
    assert fading >= steady + 10
