"""Issue 15's eight causes, each reproduced with a few hand-written events through the backtest.

Every test asserts what the issue asks of the redesigned engine and fails on the engine of
issue 15's start: those carry ``xfail(strict=True)`` with what that engine does, so the suite
stays green, and the change that fixes a cause must remove its marker (a strict xfail that
passes fails the run). Controls without the marker pin behaviour that must survive the redesign.

Events use the contract as extended for issue 15 (counterparty_kind, purpose_code, income_kind,
penalty_interest, contact.logged initiated_by, overdraft_limit/credit_limit, standing orders).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from bench.detection_replay import Recording, record
from churnwatch_shared.fx import FxRate, FxTable
from churnwatch_shared.partitioning import partition_of
from churnwatch_shared.topics import CUSTOMER_PARTITIONS
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset
from tests.state_monitor.events import T0, raw

WARNING = 2  # churn level index: 0 normal, 1 watch, 2 warning, 3 critical
WEEK = 7


def same_partition_customers(count: int, prefix: str) -> list[str]:
    """Customer ids on one EVENTS partition (one partition's event time moves them all)."""
    target = partition_of(customer_id=f"{prefix}-0", partitions=CUSTOMER_PARTITIONS)
    names = (f"{prefix}-{i}" for i in range(10_000))
    found = [
        n for n in names if partition_of(customer_id=n, partitions=CUSTOMER_PARTITIONS) == target
    ]
    return found[:count]


def when(day: float, hour: float = 10) -> str:
    return (T0 + timedelta(days=day, hours=hour - 9)).isoformat()


class Book:
    """Builds one customer's events with unique ids."""

    def __init__(self, customer: str) -> None:
        self.c = customer
        self.n = 0
        self.events: list[dict[str, Any]] = []

    def add(self, day: float, event_type: str, payload: dict[str, Any], **extra: Any) -> str:
        self.n += 1
        event_id = f"{self.c}-{self.n}"
        self.events.append(raw(event_id, self.c, when(day), event_type, payload, **extra))
        return event_id

    def profile(self, tier: str = "mass") -> None:
        since = (T0 - timedelta(days=900)).date().isoformat()
        profile = {"segment": "retail", "tier": tier, "branch_id": "BR001", "customer_since": since}
        self.add(0, "customer.profile", profile)

    def post(self, day: float, amount: str, *, account: str = "D", **payload: Any) -> str:
        body = {"direction": "debit", "amount": amount, "currency": "CNY", "channel": "mobile"}
        body.update(payload)
        return self.add(day, "transaction.posted", body, account_id=f"{self.c}-{account}")

    def balances(self, day: float, *rows: dict[str, Any]) -> str:
        day_text = when(day)[:10]
        return self.add(day, "balance.snapshot", {"as_of": day_text, "balances": list(rows)})

    def demand(self, balance: str, currency: str = "CNY", **extra: Any) -> dict[str, Any]:
        account = f"{self.c}-D" if currency == "CNY" else f"{self.c}-{currency}"
        row = {"account_id": account, "product_kind": "demand", "balance": balance}
        return {**row, "currency": currency, **extra}


def run(*events: dict[str, Any], monitor: Monitor | None = None) -> tuple[Recording, Monitor]:
    """Replay the events (sorted by time) through the backtest."""
    monitor = monitor or Monitor(ruleset=load_ruleset())
    ordered = sorted(events, key=lambda e: e["occurred_at"])
    rec = record(lines=[orjson.dumps(e) for e in ordered], monitor=monitor)
    assert not rec.counts.get("invalid"), rec.errors  # every hand-written event is valid
    return rec, monitor


def final_snapshot(rec: Recording, monitor: Monitor, customer: str) -> dict[str, Any]:
    return orjson.loads(monitor.snapshot_bytes(customer, rec.states[customer]))


def epoch(day: float) -> int:
    return int((T0 + timedelta(days=day)).timestamp())


def score_at(rec: Recording, customer: str, day: float) -> tuple[float, int]:
    """(score, level) in force at ``day``."""
    found = (0.0, 0)
    for at, score, level in rec.series.get(customer, []):
        if at > epoch(day):
            break
        found = (score, level)
    return found


def max_level(rec: Recording, customer: str) -> int:
    return max((lvl for _, _, lvl in rec.series.get(customer, [])), default=0)


# --- 1. card-centred customers ------------------------------------------------------------------


def card_customer(customer: str) -> Book:
    """Only a credit card: monthly statements, 3 card purchases a week, paid off monthly."""
    b = Book(customer)
    b.profile()
    b.add(0, "product.subscribed", {"product": "credit_card", "credit_limit": "20000.00",
                                     "currency": "CNY", "variant": "classic"})  # fmt: skip
    owed = Decimal("2000.00")
    for week in range(16):
        for k in range(3):
            amount = Decimal(180 + 40 * k)
            owed += amount
            b.post(week * WEEK + 1 + 2 * k, f"{amount:.2f}", account="K", category="card_spend",
                   channel="pos", counterparty_kind="merchant", counterparty_is_own_bank=False)  # fmt: skip
        if week % 4 == 3:
            card = {"account_id": f"{customer}-K", "product_kind": "card",
                    "balance": f"{owed:.2f}", "currency": "CNY", "credit_limit": "20000.00"}  # fmt: skip
            b.balances(week * WEEK + 6, card)
            owed = Decimal("0.00")
    return b


def test_cause1_card_purchases_are_usage_not_money_leaving() -> None:
    b = card_customer("card-1")
    rec, monitor = run(*b.events)
    snap = final_snapshot(rec, monitor, "card-1")
    flow = snap["states"]["account_flow"]["score"]
    print(f"today: account-flow {flow}, composite {snap['churn_score']}, max level "
          f"{max_level(rec, 'card-1')}")  # fmt: skip
    assert flow < 25, f"account-flow score {flow} for a card customer spending as usual"
    assert max_level(rec, "card-1") < WARNING


# --- 2. low-activity customers ------------------------------------------------------------------


def quiet_customer(customer: str, *, fade_day: int | None, days: int) -> Book:
    """Two customer-initiated postings a month; from ``fade_day`` one in eight weeks. The bank
    books interest and a fee and sends a balance snapshot every month."""
    b = Book(customer)
    b.profile()
    b.balances(0, b.demand("30000.00"))
    for month in range(days // 30 + 1):
        base = month * 30
        for offset, amount in ((4, "800.00"), (18, "450.00")):
            day = base + offset
            if day < days and (fade_day is None or day < fade_day):
                b.post(day, amount, category="cash", channel="atm")
        if base + 29 < days:
            b.post(base + 29, "12.00", direction="credit", category="interest", channel="batch")
            b.post(base + 29, "5.00", category="fee", channel="batch")
            b.balances(base + 29, b.demand("30000.00"))
    if fade_day is not None:  # one posting half-way: never idle long enough to look dormant
        b.post(fade_day + 4 * WEEK, "300.00", category="cash", channel="atm")
    return b


@pytest.mark.xfail(
    strict=True,
    reason="open trade-off (session 7, measured): with the clock at day 206 (the silence tick; "
    "before, the replay stopped at day 179) the score moves 11.8 -> 17.5, not +10. In the "
    "engine's 30-day periods this customer has 2 transactions in 76 days against 4.9 expected "
    "(deviance ~1.0-1.3 in every window, Poisson P ~0.13): the evidence of a two-a-month "
    "customer's chance quiet spell or a holiday. Lowering the thresholds for it to rise 10 "
    "points (deviance from 1.0, 0.5 or 0 instead of 1.5) lowered the AUC and recall of "
    "refits on tuning seeds 5 and 7. Session 8: the Bayes posterior of bench/detection_ceiling "
    "(the simulator's own model, this customer's true rate of 2 a month given) on these very "
    "postings, P(leaves within 90 days), moves 12.4% -> 18.6% (+6.2 points; 10.9% -> 17.1% "
    "with the rate estimated from the own history): the engine's 11.8 -> 17.5 is within a "
    "point of the ideal score, and no calibrated score rises the asked 10 points on this "
    "evidence",
)
def test_cause2_low_activity_customer_who_fades_is_judged_within_eight_weeks() -> None:
    fade = 150
    customer, other = same_partition_customers(2, prefix="quiet2")
    quiet = quiet_customer(customer, fade_day=fade, days=fade + 8 * WEEK + 1)
    # the customer's own last event is the month-end at day 179: the judgement eight weeks after
    # the fade comes from the silence tick, which runs at the partition's event time (as in
    # production, where other customers' events move it); without them the replay's clock
    # stopped at day 179 and the test judged the state of 29 days after the fade
    keep_time = Book(other)
    for day in range(1, fade + 8 * WEEK + 2, 3):
        keep_time.post(day, "100.00", category="card_spend", channel="pos")
    rec, _ = run(*quiet.events, *keep_time.events)
    before, _ = score_at(rec, customer, fade - 1)
    after, _ = score_at(rec, customer, fade + 8 * WEEK)
    judged = [
        a
        for a in rec.alerts
        if a["customer_id"] == customer
        and epoch(fade) <= int(datetime.fromisoformat(a["occurred_at"]).timestamp())
        and (a["rule_id"].startswith("stability.") or a["kind"] == "churn_risk")
    ]
    print(f"today: score {before} before the fade, {after} eight weeks later; alerts {judged}")
    assert judged or after >= before + 10, "a quiet customer who faded was not judged"


# --- 3. strong signals unused by the score --------------------------------------------------------


def steady_customer(customer: str, *, fade_from: int | None, days: int) -> Book:
    """Two card payments and one transfer a week; from ``fade_from`` a third as many, half the size."""
    b = Book(customer)
    b.profile()
    b.add(0, "product.subscribed", {"product": "debit_card"})
    b.add(0, "product.subscribed", {"product": "mobile_banking"})
    b.balances(0, b.demand("50000.00"))
    for week in range(days // WEEK):
        fading = fade_from is not None and week * WEEK >= fade_from
        scale = Decimal("0.5") if fading else Decimal(1)
        plan = [(1, "card_spend", "pos", 300), (3, "card_spend", "pos", 260),
                (5, "internal_transfer", "mobile", 900)]  # fmt: skip
        if fading:
            plan = plan[week % 3 : week % 3 + 1]
        for offset, category, channel, amount in plan:
            b.post(week * WEEK + offset, f"{amount * scale:.2f}", category=category,
                   channel=channel)  # fmt: skip
        if week % 4 == 3:
            b.balances(week * WEEK + 6, b.demand("50000.00"))
    return b


def test_cause3_quarter_on_quarter_decline_raises_the_score() -> None:
    days = 182
    steady = steady_customer("steady-3", fade_from=None, days=days)
    fading = steady_customer("fading-3", fade_from=91, days=days)
    rec, monitor = run(*steady.events, *fading.events)
    a = final_snapshot(rec, monitor, "steady-3")["churn_score"]
    b = final_snapshot(rec, monitor, "fading-3")["churn_score"]
    print(f"today: steady {a}, fading {b}")
    assert b >= a + 10


def test_cause3_customer_initiated_contacts_raise_the_score() -> None:
    days = 120
    calm = steady_customer("calm-3", fade_from=None, days=days)
    calling = steady_customer("calling-3", fade_from=None, days=days)
    for day, topic in ((100, "rate_enquiry"), (106, "fees"), (112, "closure_enquiry")):
        calling.add(day, "contact.logged", {"kind": "call", "initiated_by": "customer",
                                             "channel": "phone", "topic": topic})  # fmt: skip
    rec, monitor = run(*calm.events, *calling.events)
    a = final_snapshot(rec, monitor, "calm-3")["churn_score"]
    b = final_snapshot(rec, monitor, "calling-3")["churn_score"]
    print(f"today: calm {a}, calling {b}")
    assert b >= a + 10


# --- 4. bills are not money leaving ---------------------------------------------------------------


def bill_payer(customer: str, months: int) -> Book:
    """A salary, then household bills and an insurance premium to other banks, every month."""
    b = Book(customer)
    b.profile()
    for kind, order, amount, purpose in (("biller", "SO-H", "3400.00", "ELEC"),
                                         ("insurer", "SO-I", "600.00", "INSU")):  # fmt: skip
        b.add(0, "standing_order.created", {"standing_order_id": f"{customer}-{order}",
              "counterparty_id": f"{customer}-{kind}", "counterparty_kind": kind,
              "counterparty_bank": "ICBKCNBJ", "counterparty_is_own_bank": False,
              "amount": amount, "currency": "CNY", "purpose_code": purpose})  # fmt: skip
    balance = Decimal("500.00")
    b.balances(0, b.demand(f"{balance:.2f}"))
    for month in range(months):
        base = month * 30
        balance += Decimal("5600.00")
        b.post(base + 1, "5600.00", direction="credit", category="payroll_credit", channel="batch",
               income_kind="salary", counterparty_kind="employer", purpose_code="SALA",
               counterparty_is_own_bank=False, balance_after=f"{balance:.2f}")  # fmt: skip
        for day, kind, order, amount, purpose in ((5, "biller", "SO-H", "3400.00", "ELEC"),
                                                  (6, "insurer", "SO-I", "600.00", "INSU")):  # fmt: skip
            balance -= Decimal(amount)
            b.post(base + day, amount, category="agency_payment", channel="batch",
                   counterparty_kind=kind, counterparty_id=f"{customer}-{kind}",
                   counterparty_bank="ICBKCNBJ", counterparty_is_own_bank=False,
                   standing_order_id=f"{customer}-{order}", purpose_code=purpose,
                   balance_after=f"{balance:.2f}")  # fmt: skip
        balance -= Decimal("1500.00")
        b.post(base + 12, "1500.00", category="card_spend", channel="pos",
               balance_after=f"{balance:.2f}")  # fmt: skip
        b.balances(base + 29, b.demand(f"{balance:.2f}"))
    return b


def test_cause4_household_bills_and_insurance_are_not_money_leaving() -> None:
    b = bill_payer("bills-4", months=5)
    rec, monitor = run(*b.events)
    flow = [a for a in rec.alerts if a["rule_id"].startswith("account_flow.")]
    snap = final_snapshot(rec, monitor, "bills-4")
    print(f"today: {[(a['rule_id'], a['severity']) for a in flow]}, account-flow score "
          f"{snap['states']['account_flow']['score']}, max level {max_level(rec, 'bills-4')}")  # fmt: skip
    assert flow == []
    assert max_level(rec, "bills-4") < WARNING


def test_cause4_control_moving_the_balance_to_an_own_account_elsewhere_is_money_leaving() -> None:
    b = Book("leaving-4")
    b.profile()
    b.balances(0, b.demand("80000.00"))
    for week in range(8):
        b.post(week * WEEK + 2, "300.00", category="card_spend", channel="pos",
               balance_after=f"{80000 - 300 * (week + 1)}.00")  # fmt: skip
    b.post(60, "72000.00", category="interbank_transfer", channel="online",
           counterparty_kind="own_account", counterparty_bank="PCBCCNBJ",
           counterparty_is_own_bank=False, purpose_code="CASH", balance_after="5600.00")  # fmt: skip
    rec, _ = run(*b.events)
    assert any(a["rule_id"].startswith("account_flow.") for a in rec.alerts)


# --- 5. scores go stale -----------------------------------------------------------------------


def test_cause5_a_silent_customers_score_rises_with_time() -> None:
    silent, other = same_partition_customers(2, prefix="stale5")
    b = steady_customer(silent, fade_from=None, days=112)
    keep_time = Book(other)
    for day in range(1, 112 + 120, 3):
        keep_time.post(day, "100.00", category="card_spend", channel="pos")
    rec, monitor = run(*b.events, *keep_time.events)
    last, _ = score_at(rec, silent, 112)
    later, level = score_at(rec, silent, 112 + 90)
    print(f"today: score {last} at the last event, {later} (level {level}) 90 days later; "
          f"series tail {rec.series[silent][-3:]}")  # fmt: skip
    assert later >= last + 10
    assert level >= 1
    # the record moves with time: its snapshot is as of the tick, not of the last event
    as_of = datetime.fromisoformat(final_snapshot(rec, monitor, silent)["as_of"])
    assert as_of >= T0 + timedelta(days=112 + 60)


# --- 6. overdraft reaches risk ----------------------------------------------------------------


def test_cause6_penalty_interest_and_negative_balance_move_the_risk_state() -> None:
    b = Book("overdrawn-6")
    b.profile()
    b.balances(0, b.demand("800.00", overdraft_limit="5000.00"))
    b.post(3, "2600.00", category="cash", channel="atm", balance_after="-1800.00")
    b.balances(29, b.demand("-1800.00", overdraft_limit="5000.00"))
    b.post(30, "27.00", category="penalty_interest", channel="batch", purpose_code="SANKC. UROK",
           balance_after="-1827.00")  # fmt: skip
    b.post(45, "900.00", category="cash", channel="atm", balance_after="-2727.00")
    b.post(60, "41.00", category="penalty_interest", channel="batch", balance_after="-2768.00")
    b.balances(60, b.demand("-2768.00", overdraft_limit="5000.00"))
    rec, monitor = run(*b.events)
    risk = final_snapshot(rec, monitor, "overdrawn-6")["states"]["risk"]
    print(f"today: risk state {risk}")
    assert risk["score"] > 0


# --- 7. one reporting currency -----------------------------------------------------------------

EUR_CNY = FxTable(
    reporting="CNY",
    rates=[FxRate(base="EUR", quote="CNY", rate="7.8", as_of=T0.date() - timedelta(1))],
)


def fx_monitor(table: FxTable) -> Monitor:
    """A Monitor converting into ``table``'s reporting currency.

    The issue leaves open how the rates reach the engine; the contract's ``FxTable`` passed as
    ``Monitor(fx=...)`` is assumed here. The engine of issue 15's start takes no rates at all
    (its Monitor refuses ``fx``): it then runs without, which is what the xfail records. An
    engine that wires rates differently changes only this function.
    """
    ruleset = load_ruleset()
    try:
        return Monitor(ruleset=ruleset, fx=table)  # type: ignore[call-arg]
    except TypeError:
        return Monitor(ruleset=ruleset)


def gold_customer(customer: str, later: list[dict[str, Any]]) -> Book:
    b = Book(customer)
    b.profile(tier="gold")
    b.balances(1, b.demand("70000.00"))
    b.balances(31, *later)
    return b


def tier_alerts(rec: Recording) -> list[str]:
    return [a["severity"] for a in rec.alerts if a["rule_id"] == "scale.tier_critical_band"]


def test_cause7_control_a_gold_customer_falling_to_25000_cny_leaves_the_tier() -> None:
    b = gold_customer("gold-cny-7", [b_row("gold-cny-7", "20000.00"), b_row("gold-cny-7",
                      "5000.00", account="S")])  # fmt: skip
    rec, _ = run(*b.events, monitor=fx_monitor(EUR_CNY))
    assert tier_alerts(rec) == ["critical"]


def test_cause7_eur_amounts_are_converted_before_comparison_with_cny_thresholds() -> None:
    b = gold_customer("gold-eur-7", [b_row("gold-eur-7", "20000.00"), b_row("gold-eur-7",
                      "5000.00", currency="EUR")])  # fmt: skip
    rec, monitor = run(*b.events, monitor=fx_monitor(EUR_CNY))
    scale = final_snapshot(rec, monitor, "gold-eur-7")["states"]["scale"]["metrics"]
    print(f"today: tier alerts {tier_alerts(rec)}, scale metrics {scale}")
    assert tier_alerts(rec) == []
    assert Decimal(str(scale["financial_assets"])) == Decimal("59000.00")


def b_row(customer: str, balance: str, *, currency: str = "CNY", account: str = "D") -> dict:
    suffix = currency if currency != "CNY" else account
    return {"account_id": f"{customer}-{suffix}", "product_kind": "demand", "balance": balance,
            "currency": currency}  # fmt: skip


# --- 8. one open churn-risk alert per customer ---------------------------------------------------


def test_cause8_a_moving_score_updates_the_one_open_churn_risk_alert() -> None:
    b = Book("moving-8")
    b.profile()
    b.balances(0, b.demand("100000.00"))
    for week in range(10):
        b.post(week * WEEK + 1, "200.00", category="card_spend", channel="pos")
    # the score climbs in steps: complaints, then money leaving, then a cancellation
    for day, severity in ((72, "medium"), (80, "high")):
        b.add(day, "complaint.filed", {"complaint_id": f"q{day}", "category": "fees",
                                        "severity": severity, "channel": "branch"})  # fmt: skip
    b.post(86, "60000.00", category="interbank_transfer", channel="online",
           counterparty_kind="own_account", counterparty_is_own_bank=False,
           balance_after="38000.00")  # fmt: skip
    b.add(90, "product.cancelled", {"product": "debit_card", "reason": "moving"})
    rec, _ = run(*b.events)
    churn = [a for a in rec.alerts if a["kind"] == "churn_risk"]
    # an update keeps the alert's id, or names the alert it supersedes (which is then closed)
    superseded = {v for a in churn for k, v in a.items() if "supersed" in k and v}
    open_ids = {a["alert_id"] for a in churn} - superseded
    print(f"today: churn-risk alerts {[(a['severity'], a['churn_score']) for a in churn]}")
    assert churn, "the climbing score raised no churn-risk alert at all"
    assert max(a["churn_score"] for a in churn) >= 55, "the score did not climb to critical"
    assert len(open_ids) == 1, f"{len(open_ids)} churn-risk alerts open for one customer"
