"""Issue-4 anomaly rules and the composite churn score, through the same Monitor code path."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from churnwatch_shared.alerts import AlertKind, Severity
from churnwatch_state_monitor.engine import account_flow, product_usage, risk, scale, stability
from churnwatch_state_monitor.engine.churn import CHURN_SCORE
from churnwatch_state_monitor.engine.facts import money_str
from churnwatch_state_monitor.engine.monitor import Monitor, Outcome
from churnwatch_state_monitor.engine.scoring import next_level
from churnwatch_state_monitor.engine.state import WEEK
from churnwatch_state_monitor.ruleset import limits_of, load_ruleset
from tests.state_monitor.events import T0, at, outflow, raw, snapshot, txn
from tests.state_monitor.test_engine import C, Feed


def profile(tier: str = "private_banking") -> dict:
    return raw(
        "prof",
        C,
        at(0),
        "customer.profile",
        {"segment": "retail", "tier": tier, "branch_id": "BR001"},
    )


def test_complaint_alerts_graded_by_severity_and_lifts_churn_score() -> None:
    feed = Feed()
    feed.send(snapshot("s1", C, at(0), demand="50000.00"))
    quiet = feed.state.churn
    out = feed.send(
        raw(
            "k1",
            C,
            at(1),
            "complaint.filed",
            {"complaint_id": "k1", "category": "fees", "severity": "high"},
        )
    )
    complaint = [a for a in out.alerts if a.rule_id == stability.COMPLAINT_FILED]
    assert complaint[0].severity is Severity.CRITICAL
    # the calibrated scale (issue 15, an intended change): a complaint adds its fitted weight to
    # the log-odds of the score. Its points in the five states' composite no longer set a churn
    # warning on their own (the states' floor needs a second source: corroboration); the
    # complaint alert itself is critical above
    engagement = load_ruleset().churn.engagement
    assert engagement is not None
    rise = _logit(feed.state.churn) - _logit(quiet)
    assert rise >= engagement.complaints - 0.05


def _logit(percent: float) -> float:
    return math.log(percent / (100 - percent))


def test_second_cancellation_in_90_days_is_critical() -> None:
    feed = Feed()
    feed.send(raw("p1", C, at(0), "product.subscribed", {"product": "fund"}))
    first = feed.send(raw("c1", C, at(1), "product.cancelled", {"product": "fund"}))
    second = feed.send(raw("c2", C, at(2), "product.cancelled", {"product": "insurance"}))

    def sev(out: Outcome) -> list[Severity]:
        return [a.severity for a in out.alerts if a.rule_id == product_usage.PRODUCT_CANCELLED]

    assert sev(first) == [Severity.WARNING]
    assert sev(second) == [Severity.CRITICAL]


def test_loan_overdue_escalates_and_alerts_again_only_when_worse() -> None:
    feed = Feed()
    for i, dpd in enumerate((5, 12, 35, 95)):
        feed.send(
            raw(
                f"o{i}",
                C,
                at(i),
                "loan.overdue",
                {
                    "loan_id": "L1",
                    "days_past_due": dpd,
                    "overdue_amount": "1000.00",
                    "currency": "CNY",
                },
            )
        )
    overdue = [a.severity for a in feed.alerts if a.rule_id == risk.LOAN_OVERDUE]
    assert overdue == [Severity.WATCH, Severity.WARNING, Severity.CRITICAL]


def test_classification_downgrade_only_when_worse() -> None:
    feed = Feed()
    for i, cls in enumerate(("normal", "special_mention", "special_mention", "doubtful")):
        feed.send(
            raw(
                f"l{i}",
                C,
                at(i),
                "loan.classified",
                {"loan_id": "L1", "classification": cls, "balance": "5000.00", "currency": "CNY"},
            )
        )
    got = [
        (a.observed, a.severity) for a in feed.alerts if a.rule_id == risk.CLASSIFICATION_DOWNGRADE
    ]
    assert got == [("special_mention", Severity.WARNING), ("doubtful", Severity.CRITICAL)]


def test_private_banking_critical_band() -> None:
    feed = Feed()
    feed.send(profile())
    feed.send(snapshot("s1", C, at(1), demand="3000000.00", investment="4000000.00"))
    assert scale.TIER_CRITICAL_BAND not in feed.rule_ids()
    out = feed.send(snapshot("s2", C, at(2), demand="1500000.00", investment="4000000.00"))
    [band] = [a for a in out.alerts if a.rule_id == scale.TIER_CRITICAL_BAND]
    assert band.severity is Severity.WARNING and band.observed == "5500000.00"
    assert band.baseline == "6000000.00" and band.tier == "private_banking"
    out = feed.send(snapshot("s3", C, at(3), demand="500000.00", investment="4000000.00"))
    assert [a.severity for a in out.alerts if a.rule_id == scale.TIER_CRITICAL_BAND] == [
        Severity.CRITICAL
    ]


def test_dormancy_seen_on_a_bank_initiated_event() -> None:
    feed = Feed()
    feed.send(txn("t1", C, at(0)))
    out = feed.send(txn("int", C, at(70), direction="credit", amount="1.00", category="interest"))
    [dorm] = [a for a in out.alerts if a.rule_id == stability.DORMANCY]
    # judged at its own event time (the day-grid point 60 days on), not at the late event's
    assert dorm.observed == 60 and dorm.state == "stability"
    assert dorm.occurred_at == datetime(2026, 1, 3, tzinfo=UTC)


def test_missing_payroll_credit() -> None:
    feed = Feed()
    for i in range(3):
        feed.send(
            txn(
                f"pay{i}",
                C,
                at(30 * i),
                direction="credit",
                amount="9000.00",
                category="payroll_credit",
                channel="batch",
            )
        )
    assert account_flow.PAYROLL_MISSING not in feed.rule_ids()
    feed.send(txn("late", C, at(60 + 45), amount="10.00"))
    assert account_flow.PAYROLL_MISSING in feed.rule_ids()


def test_activity_drop_against_own_weekly_baseline() -> None:
    feed = Feed()
    # 7-day buckets are aligned to the Unix epoch: start on a bucket boundary
    start = datetime.fromtimestamp((int(T0.timestamp()) // WEEK + 1) * WEEK, UTC)

    def day(d: float) -> str:
        return (start + timedelta(days=d, hours=1)).isoformat()

    n = 0
    for week in range(6):
        for d in range(5):
            n += 1
            feed.send(txn(f"a{n}", C, day(7 * week + d)))
    assert stability.ACTIVITY_DROP not in feed.rule_ids()
    feed.send(txn("quiet-1", C, day(7 * 6 + 1)))  # one transaction in week 6
    feed.send(txn("next-week", C, day(7 * 8 + 1)))  # week 6 closes when week 8 begins
    [drop] = [a for a in feed.alerts if a.rule_id == stability.ACTIVITY_DROP]
    assert drop.observed == 1 and drop.baseline == 5


def test_churn_alert_once_per_level_with_hysteresis() -> None:
    rs = load_ruleset()
    levels = rs.churn.levels
    lim = limits_of(rs)
    assert next_level(levels.watch + 1, 0, lim) == 1
    assert next_level(levels.watch - 1, 1, lim) == 1  # within hysteresis
    assert next_level(levels.watch - rs.churn.hysteresis - 1, 1, lim) == 0
    assert next_level(levels.critical, 1, lim) == 3

    feed = Feed()
    feed.send(snapshot("s1", C, at(0), demand="50000.00"))
    for i in range(3):
        if feed.state.level == 3:
            break
        feed.send(
            raw(
                f"k{i}",
                C,
                at(1 + i),
                "complaint.filed",
                {"complaint_id": f"k{i}", "category": "service", "severity": "low"},
            )
        )
    churn = [a for a in feed.alerts if a.rule_id == CHURN_SCORE]
    assert churn and all(a.kind is AlertKind.CHURN_RISK for a in churn)
    assert [a.severity for a in churn] == sorted(
        {a.severity for a in churn}, key=list(Severity).index
    )
    assert churn[-1].churn_score == feed.state.churn
    assert any(r.code == "complaint_filed" for r in churn[-1].reasons)


def test_priority_reflects_customer_value() -> None:
    big, small = Feed(), Feed()
    big.send(profile("private_banking"))
    big.send(snapshot("s1", C, at(1), demand="9000000.00"))
    small.send(profile("mass"))
    small.send(snapshot("s1", C, at(1), demand="9000.00"))
    for feed in (big, small):
        feed.send(raw("k", C, at(2), "complaint.filed", {"complaint_id": "k", "category": "x"}))
    pick = lambda f: next(a for a in f.alerts if a.rule_id == stability.COMPLAINT_FILED)  # noqa: E731
    assert pick(big).severity == pick(small).severity
    assert pick(big).priority > pick(small).priority


def test_tier_band_fires_on_the_crossing_only() -> None:
    feed = Feed()
    feed.send(profile("gold"))
    feed.send(snapshot("s1", C, at(1), demand="60000.00"))  # gold threshold 50k
    for i, demand in enumerate(("45000.00", "44000.00", "43000.00")):
        feed.send(snapshot(f"b{i}", C, at(10 * (i + 1)), demand=demand))  # weeks apart
    band = [a.severity for a in feed.alerts if a.rule_id == scale.TIER_CRITICAL_BAND]
    assert band == [Severity.WARNING]  # once, not on every snapshot inside the band
    feed.send(snapshot("low", C, at(50), demand="30000.00"))
    band = [a.severity for a in feed.alerts if a.rule_id == scale.TIER_CRITICAL_BAND]
    assert band == [Severity.WARNING, Severity.CRITICAL]


def test_tier_band_silent_for_a_customer_who_never_held_the_tier() -> None:
    feed = Feed()
    feed.send(profile("platinum"))  # platinum threshold 300k
    for i in range(3):
        feed.send(snapshot(f"s{i}", C, at(10 * i), demand="250000.00"))
    assert scale.TIER_CRITICAL_BAND not in feed.rule_ids()
    assert feed.state.churn < load_ruleset().churn.levels.watch


def test_payroll_bonus_soon_after_payday_does_not_shorten_the_cycle() -> None:
    feed = Feed()
    for i in range(3):
        feed.send(
            txn(
                f"pay{i}",
                C,
                at(30 * i),
                direction="credit",
                amount="9000.00",
                category="payroll_credit",
                channel="batch",
            )
        )
    feed.send(
        txn(
            "bonus",
            C,
            at(67),
            direction="credit",
            amount="30000.00",
            category="payroll_credit",
            channel="batch",
        )
    )  # 7 days after payday
    feed.send(txn("spend", C, at(85), amount="10.00"))  # the next payday (day 90) not yet due
    assert account_flow.PAYROLL_MISSING not in feed.rule_ids()
    assert feed.state.payroll_gap == 30


def test_interbank_share_needs_repeated_transfers() -> None:
    once, repeated = Feed(), Feed()
    for feed in (once, repeated):
        feed.send(snapshot("s1", C, at(0), demand="100000.00"))
    # two transfers, each under half the balance, together 60% of the funds: not yet a pattern
    once.send(outflow("o1", C, at(1), "30000.00", balance_after="70000.00"))
    once.send(outflow("o2", C, at(2), "30000.00", balance_after="40000.00"))
    assert once.rule_ids() == []
    balance = 100000
    for i in range(3):
        balance -= 20000
        repeated.send(outflow(f"o{i}", C, at(1 + 3 * i), "20000.00", balance_after=f"{balance}.00"))
    [share] = [a for a in repeated.alerts if a.rule_id == account_flow.INTERBANK_OUTFLOW_SHARE]
    assert share.window == "30d" and share.observed == 0.6


def _weekly(feed: Feed, counts: list[int]) -> None:
    """Customer-initiated transactions per 7-day bucket (buckets are aligned to the Unix epoch)."""
    start = datetime.fromtimestamp((int(T0.timestamp()) // WEEK + 1) * WEEK, UTC)
    for week, count in enumerate(counts):
        for i in range(count):
            when = (start + timedelta(days=7 * week + i * 6 / max(count, 1), hours=1)).isoformat()
            feed.send(txn(f"w{week}-{i}", C, when))
        # a bank-initiated event each week (fees, interest, snapshots) closes the weeks in time
        fee = (start + timedelta(days=7 * week + 6.5)).isoformat()
        feed.send(txn(f"fee{week}", C, fee, amount="1.00", category="fee", channel="batch"))


def test_sustained_decline_fires_when_activity_fades_and_stays_down() -> None:
    feed = Feed()
    _weekly(feed, [6] * 12 + [3, 2, 1, 1, 0, 0, 0])
    [fade] = [a for a in feed.alerts if a.rule_id == stability.SUSTAINED_DECLINE]
    assert fade.severity is Severity.WARNING and fade.baseline == 24.0
    churn = [a for a in feed.alerts if a.rule_id == CHURN_SCORE]
    assert any(a.severity in (Severity.WARNING, Severity.CRITICAL) for a in churn)


def test_sustained_decline_ignores_a_three_week_holiday() -> None:
    feed = Feed()
    holiday = [6] * 12 + [2, 0, 0, 3, 6, 6, 6, 6]  # 21 idle days across four weeks
    _weekly(feed, holiday)
    assert stability.SUSTAINED_DECLINE not in feed.rule_ids()
    # one four-week window alone would be fooled: the confirming week is what tells them apart
    rs = load_ruleset()
    hasty = rs.model_copy(
        update={
            "rules": rs.rules.model_copy(
                update={
                    "sustained_decline": rs.rules.sustained_decline.model_copy(
                        update={"confirm": False}
                    )
                }
            )
        }
    )
    unconfirmed = Feed(Monitor(ruleset=hasty))
    _weekly(unconfirmed, holiday)
    assert stability.SUSTAINED_DECLINE in unconfirmed.rule_ids()


def test_sustained_decline_alerts_a_week_early_when_activity_tapers_off() -> None:
    feed = Feed()
    # each older week of the four busier than the newest: a fade, not a holiday (which stops
    # all at once after a normal week); the five-week confirmation would wait one more week
    _weekly(feed, [6] * 12 + [4, 3, 2, 0, 0])
    [fade] = [a for a in feed.alerts if a.rule_id == stability.SUSTAINED_DECLINE]
    assert fade.observed == 9 and "last 4" in fade.reasons[0].text
    # a holiday's silent weeks are equally silent: no early alert for them
    holiday = Feed()
    _weekly(holiday, [6] * 12 + [2, 0, 0, 0, 0])
    assert stability.SUSTAINED_DECLINE not in holiday.rule_ids()


def _churn_levels(feed: Feed) -> list[Severity]:
    return [a.severity for a in feed.alerts if a.rule_id == CHURN_SCORE]


def test_money_steadily_moving_away_raises_churn_risk_to_warning_early() -> None:
    steady, purchase = Feed(), Feed()
    for feed in (steady, purchase):
        feed.send(snapshot("s1", C, at(0), demand="100000.00"))
    balance = 100000
    for i in range(4):  # four transfers of 15% each, none near half the balance
        balance -= 15000
        steady.send(outflow(f"o{i}", C, at(1 + 6 * i), "15000.00", balance_after=f"{balance}.00"))
    assert account_flow.LARGE_INTERBANK_OUTFLOW not in steady.rule_ids()
    assert Severity.WARNING in _churn_levels(steady)
    # one big purchase elsewhere and two small transfers: as large a share, but no pattern
    balance = 100000
    for i, amount in enumerate((45000, 5000, 5000)):
        balance -= amount
        purchase.send(
            outflow(f"p{i}", C, at(1 + 6 * i), f"{amount}.00", balance_after=f"{balance}.00")
        )
    assert not {Severity.WARNING, Severity.CRITICAL} & set(_churn_levels(purchase))


def test_money_strings_keep_every_cent_and_the_sign() -> None:
    cases = {
        0: "0.00",
        5: "0.05",
        99: "0.99",
        100: "1.00",
        1205: "12.05",
        -1205: "-12.05",
        -5: "-0.05",
        -100: "-1.00",
        123456789: "1234567.89",
        10**20 + 1: "1000000000000000000.01",
    }
    assert {minor: money_str(minor) for minor in cases} == cases
    for minor in [*range(-25_000, 25_000, 7), *range(-300, 300), 2**62 + 99, -(2**63) - 1]:
        assert money_str(minor) == str(Decimal(minor).scaleb(-2)), minor
