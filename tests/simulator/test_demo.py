"""The demo feed: rm.demo's customers, history in the past, alert-worthy signals present."""

from __future__ import annotations

import io
import random
import re
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice

import pytest

from churnwatch_shared.events import parse_event_obj
from churnwatch_simulator.demo import demo_bank, live_events, wait_for_health


@pytest.fixture(scope="module")
def demo() -> tuple[datetime, list, object]:
    now = datetime.now(UTC)
    bank = demo_bank(now=now)
    return now, [parse_event_obj(e) for e in bank.events()], bank


def test_demo_history_is_all_in_the_past_and_timezone_aware(demo) -> None:
    now, events, _ = demo
    assert len(events) > 1000
    assert all(e.occurred_at.tzinfo is not None and e.occurred_at <= now for e in events)
    assert (now - min(e.occurred_at for e in events)).days >= 21


def test_demo_customers_belong_to_rm_demo(demo) -> None:
    _, events, _ = demo
    assigned = [e.payload for e in events if e.event_type == "customer.assigned"]
    assert len(assigned) == 30
    assert {(a.relationship_manager_id, a.service_team_id, a.branch_id) for a in assigned} == {
        ("rm.demo", "team.demo", "BR001")
    }


def test_demo_has_several_single_large_interbank_outflows(demo) -> None:
    _, events, _ = demo
    customers = set()
    for e in events:
        if e.event_type != "transaction.posted":
            continue
        p = e.payload
        if (
            p.direction == "debit"
            and not p.counterparty_is_own_bank
            and p.balance_after is not None
        ) and p.amount >= Decimal("0.6") * (p.balance_after + p.amount):
            customers.add(e.customer_id)
    assert len(customers) >= 5


def test_demo_feeds_the_other_rules(demo) -> None:
    _, events, _ = demo
    types = {e.event_type for e in events}
    assert {"product.cancelled", "complaint.filed", "loan.overdue", "loan.classified"} <= types
    payroll_stoppers = {
        c.customer_id for c in demo[2].customers if c.plan.pattern == "payroll_stop"
    }
    assert len(payroll_stoppers) == 3


def test_live_trickle_is_valid_and_stamped_now(demo) -> None:
    _, _, bank = demo
    before = datetime.now(UTC)
    live = [
        parse_event_obj(e)
        for e in islice(live_events(bank=bank, run_id="t", rng=random.Random(1)), 50)
    ]
    after = datetime.now(UTC)
    assert all(before <= e.occurred_at <= after for e in live)
    assert {e.customer_id for e in live} <= {c.customer_id for c in bank.customers}
    assert len({e.event_id for e in live}) == 50


async def test_health_wait_times_out_with_a_clear_message() -> None:
    with pytest.raises(SystemExit, match=re.escape("did not answer http://127.0.0.1:9/healthz")):
        await wait_for_health(url="http://127.0.0.1:9", timeout=0.5, stream=io.StringIO())
