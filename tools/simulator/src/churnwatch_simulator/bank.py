"""The simulated core bank: a seeded population living through N days, yielded as events in time order."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from churnwatch_simulator.baseline import DayContext
from churnwatch_simulator.behaviours import live_day
from churnwatch_simulator.emitter import DayWriter, Draft
from churnwatch_simulator.plans import DEFAULT_FRACTIONS, Pattern, Plan, assign_patterns, make_plan
from churnwatch_simulator.population import Customer, Staffing, build_customer

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Everything that determines a run; the same config always yields the same events."""

    customers: int = 1000
    days: int = 180
    seed: int = 42
    start: datetime = datetime(2025, 1, 1, tzinfo=CHINA_STANDARD_TIME)
    snapshot_every: int = 7
    corporate_share: float = 0.15
    fractions: dict[Pattern, float] = field(default_factory=lambda: dict(DEFAULT_FRACTIONS))
    staffing: Staffing = field(default_factory=Staffing)
    id_prefix: str = "sim"
    customer_prefix: str = "C"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.customers < 1 or self.snapshot_every < 1:
            raise ValueError("customers and snapshot_every must be at least 1")


class SimulatedBank:
    """A population and its plans; ``events()`` runs the days (once per instance)."""

    def __init__(self, *, config: SimulationConfig, plans: list[Plan] | None = None) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        if plans is None:
            patterns = assign_patterns(
                rng=self.rng, customers=config.customers, fractions=config.fractions
            )
            plans = [make_plan(rng=self.rng, pattern=p, days=config.days) for p in patterns]
        elif len(plans) != config.customers:
            raise ValueError("one plan per customer")
        width = max(6, len(str(config.customers)))
        start_date = config.start.date()
        self.customers: list[Customer] = [
            build_customer(
                rng=self.rng,
                idx=i,
                customer_id=f"{config.customer_prefix}{i + 1:0{width}d}",
                plan=plan,
                staffing=config.staffing,
                start=start_date,
                corporate_share=config.corporate_share,
            )
            for i, plan in enumerate(plans)
        ]
        self.events_emitted = 0

    def day_date(self, day: int) -> date:
        """Calendar date (in the start's time zone) of a simulated day."""
        return (self.config.start + timedelta(days=day)).date()

    def events(self) -> Iterator[dict[str, Any]]:
        """Yield every event of the run as a plain dict, in occurred_at order."""
        cfg = self.config
        rng = self.rng
        n = 0
        for day in range(cfg.days):
            drafts: list[Draft] = []
            writer = DayWriter(rng=rng, out=drafts)
            ctx = DayContext(day=day, date=self.day_date(day), days=cfg.days)
            as_of = ctx.date.isoformat()
            for c in self.customers:
                if c.closed_day is not None:
                    continue
                if day == 0:
                    writer.begin(c, second=0)
                    _introduce(writer, c)
                writer.begin(c)
                live_day(writer, c, ctx)
                if c.closed_day is None and (day == 0 or (day + c.idx) % cfg.snapshot_every == 0):
                    writer.snapshot(as_of)
            drafts.sort(key=_draft_order)
            base = cfg.start + timedelta(days=day)
            prefix = f"{cfg.id_prefix}-{cfg.seed}-"
            last_sec = -1
            stamp = ""
            for sec, _idx, _seq, event_type, customer_id, account_id, payload in drafts:
                n += 1
                if sec != last_sec:
                    stamp = (base + timedelta(seconds=sec)).isoformat()
                    last_sec = sec
                event: dict[str, Any] = {
                    "event_id": f"{prefix}{n}",
                    "schema_version": 1,
                    "occurred_at": stamp,
                    "customer_id": customer_id,
                }
                if account_id is not None:
                    event["account_id"] = account_id
                event["event_type"] = event_type
                event["payload"] = payload
                yield event
            self.events_emitted = n


def _draft_order(draft: Draft) -> tuple[int, int, int]:
    return draft[0], draft[1], draft[2]


def _introduce(w: DayWriter, c: Customer) -> None:
    """Start-of-run facts: profile, assignment and the products already held."""
    w.emit(
        "customer.profile",
        {
            "segment": c.segment,
            "tier": c.tier,
            "branch_id": c.branch_id,
            "customer_since": c.customer_since.isoformat(),
            "display_name": c.display_name,
        },
        second=0,
    )
    assigned = {"relationship_manager_id": c.manager_id}
    if c.wealth_advisor_id:
        assigned["wealth_advisor_id"] = c.wealth_advisor_id
    assigned["service_team_id"] = c.team_id
    assigned["branch_id"] = c.branch_id
    w.emit("customer.assigned", assigned, second=0)
    for product in c.products:
        w.emit("product.subscribed", {"product": product}, second=0)
