"""The realistic profile (``--profile realistic``): customers shaped like a real retail book.

Unlike the classic simulator, nothing here is derived from the state monitor's rules or thresholds:
rates and amounts come from what the Berka data set (a real Czech bank, 1993-94, see
``tools/berka``) shows, measured once with ``churnwatch_berka`` over its 1,229 accounts and
49,102 transactions and written down here (Berka is never read at simulation time):

- customer-initiated postings per account and month: p10 1.3, p25 2.0, median 2.8, p75 3.6,
  p90 4.3 (interest, fees and penalty interest left out). ``LOW_ACTIVITY_PER_MONTH`` spans the
  lower half; ``REGULAR_PER_MONTH`` the upper half. ``BUSY_PER_MONTH`` is above anything Berka
  has (1993 had no card payments) and is a stated assumption, not a measurement.
- postings by purpose: no purpose code 56.8%, interest credited 19.3%, statement fee 11.1%,
  household bills (SIPO) 7.6%, pension 3.6%, insurance 1.3%, loan instalment 0.25%, penalty
  interest 0.13% (64 postings).
- accounts with household bills 54.5%, with insurance premiums 9.0%, receiving a pension 17.3%,
  receiving other regular transfers from another bank (salary-like) 18.9%, ever overdrawn 2.1%,
  charged penalty interest 1.9%. Every interbank debit executes a standing order.
- median amounts (read as the home currency): household bill 3,437 (p90 8,188), insurance 563,
  pension 5,634, other incoming transfer 3,972, cash withdrawal 4,200, cash deposit 10,921,
  other interbank debit 1,339, penalty interest 4 (p90 23); account balance median 28,274.
- interest is credited and a statement fee charged monthly on every account, active or not.

Customers have a **kind** (their everyday shape) and a **fate** (stay, noisy stay, quiet leave,
contact-then-leave); both mixes are configurable (``RealisticConfig.kinds`` / ``fates``) and
assigned in exact counts (round(share x customers), the rest to the first entry). A quiet leaver's
customer-initiated activity fades over the drift and stops at the churn date; the bank keeps
booking interest, fees and month-end snapshots for the still-open account. A contact leaver files
complaints (``complaint.filed``) and service requests (``contact.logged`` with
``initiated_by=customer``) in the weeks before leaving, moves the balance to their own account at
another bank and closes.

Payment facts (``realistic_facts``): counterparty kind and id on every payment, ISO purpose codes
on income and bills, a ``standing_order.created`` per bill, card limits on card snapshots and
subscriptions, the overdraft limit on overdraft customers' snapshots, penalty interest as its own
category. FX: amounts in EUR and USD are sized with ``FX_RATES``; the same rates, as the monitor's
FX configuration records, are in the truth file (``fx_rates``, reporting currency CNY).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from churnwatch_simulator.bank import CHINA_STANDARD_TIME
from churnwatch_simulator.realistic_facts import fx_rates
from churnwatch_simulator.realistic_ledger import Draft
from churnwatch_simulator.realistic_life import FX_RATES, HOME, Life, Person
from churnwatch_simulator.realistic_spill import time_ordered

KINDS: dict[str, float] = {
    "low_activity": 0.30,
    "regular": 0.15,
    "busy": 0.10,
    "bill_payer": 0.15,
    "card_centred": 0.15,
    "multi_currency": 0.08,
    "overdraft": 0.07,
}
FATES: dict[str, float] = {
    "stays": 0.72,
    "noisy_stays": 0.12,
    "quiet_leaver": 0.10,
    "contact_leaver": 0.06,
}
LEAVING_FATES = frozenset({"quiet_leaver", "contact_leaver"})

LOW_ACTIVITY_PER_MONTH = (0.8, 2.8)
REGULAR_PER_MONTH = (2.8, 5.0)
BUSY_PER_MONTH = (12.0, 40.0)
BATCH_CUSTOMERS = 1_000  # customers simulated and sorted together before a spill to disk


@dataclass(frozen=True, slots=True)
class RealisticConfig:
    """Everything that determines a realistic run; the same config always yields the same events."""

    customers: int = 1000
    days: int = 240
    seed: int = 42
    start: datetime = datetime(2025, 1, 1, tzinfo=CHINA_STANDARD_TIME)
    kinds: dict[str, float] = field(default_factory=lambda: dict(KINDS))
    fates: dict[str, float] = field(default_factory=lambda: dict(FATES))
    managers: int = 20
    branches: int = 5

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if self.days < 60:
            raise ValueError(f"the realistic profile needs at least 60 days (got {self.days})")
        for name, mix, known in (("kinds", self.kinds, KINDS), ("fates", self.fates, FATES)):
            unknown = sorted(set(mix) - set(known))
            if unknown:
                raise ValueError(f"unknown {name} {unknown}; accepted: {sorted(known)}")
            if any(v < 0 for v in mix.values()) or abs(sum(mix.values()) - 1.0) > 1e-6:
                raise ValueError(f"{name} shares must be non-negative and add up to 1")


def exact_counts(*, shares: dict[str, float], total: int) -> dict[str, int]:
    """round(share x total) per entry; the rounding remainder goes to the first entry."""
    counts = {k: round(v * total) for k, v in shares.items()}
    first = next(iter(shares))
    counts[first] += total - sum(counts.values())
    if counts[first] < 0:
        raise ValueError("shares leave no room for the first entry")
    return counts


def _deal(rng: random.Random, shares: dict[str, float], total: int) -> list[str]:
    counts = exact_counts(shares=shares, total=total)
    dealt = [k for k, n in counts.items() for _ in range(n)]
    rng.shuffle(dealt)
    return dealt


class RealisticBank:
    """A realistic population; ``events()`` runs the horizon (once per instance)."""

    def __init__(self, *, config: RealisticConfig) -> None:
        self.config = config
        rng = random.Random(f"realistic:{config.seed}")
        kinds = _deal(rng, config.kinds, config.customers)
        fates = _deal(rng, config.fates, config.customers)
        width = max(6, len(str(config.customers)))
        self.people: list[Person] = []
        for i in range(config.customers):
            crng = random.Random(f"realistic:{config.seed}:{i}")
            manager = crng.randrange(config.managers)
            self.people.append(
                Person(
                    idx=i,
                    customer_id=f"R{i + 1:0{width}d}",
                    kind=kinds[i],
                    fate=fates[i],
                    rng=crng,
                    manager_id=f"rm.{manager + 1:03d}",
                    branch_id=f"BR{manager % config.branches + 1:03d}",
                )
            )
        self.events_emitted = 0

    def day_date(self, day: int) -> date:
        """Calendar date of a simulated day."""
        return (self.config.start + timedelta(days=day)).date()

    def _batches(self, size: int) -> Iterator[list[Draft]]:
        start = self.day_date(0)
        for i in range(0, len(self.people), size):
            drafts: list[Draft] = []
            for person in self.people[i : i + size]:
                drafts.extend(Life(person=person, days=self.config.days, start=start).run())
            yield drafts

    def events(self, *, batch_customers: int = BATCH_CUSTOMERS) -> Iterator[dict[str, Any]]:
        """Every event of the run as a plain dict, in occurred_at order (then customer, sequence).

        Customers are simulated ``batch_customers`` at a time and their time-sorted drafts merged
        from disk (``realistic_spill``), so memory does not grow with the population; the events
        are the same whatever the batch size.
        """
        if batch_customers < 1:
            raise ValueError(f"batch_customers must be at least 1 (got {batch_customers})")
        cfg = self.config
        prefix = f"real-{cfg.seed}-"
        n = 0
        ordered = time_ordered(self._batches(batch_customers))
        for second, _idx, _seq, event_type, customer_id, account_id, payload in ordered:
            n += 1
            event: dict[str, Any] = {
                "event_id": f"{prefix}{n}",
                "schema_version": 1,
                "occurred_at": (cfg.start + timedelta(seconds=second)).isoformat(),
                "customer_id": customer_id,
            }
            if account_id is not None:
                event["account_id"] = account_id
            event["event_type"] = event_type
            event["payload"] = payload
            yield event
        self.events_emitted = n


def realistic_truth(*, bank: RealisticBank) -> dict[str, Any]:
    """Ground truth of a finished run: per customer the kind, fate, whether and when it churns."""
    cfg = bank.config
    labels = []
    for p in bank.people:
        churn = bank.day_date(p.churn_day).isoformat() if p.churn_day is not None else None
        drift = bank.day_date(p.drift_start).isoformat() if p.drift_start is not None else None
        labels.append(
            {
                "customer_id": p.customer_id,
                "kind": p.kind,
                "fate": p.fate,
                "pattern": p.fate,
                "churns": p.churn_day is not None,
                "churn_date": churn,
                "drift_start_date": drift,
                "credit_risk": p.kind == "overdraft",
                "segment": "retail",
                "tier": p.tier,
                "relationship_manager_id": p.manager_id,
                "currencies": sorted(p.currencies),
            }
        )
    return {
        "profile": "realistic",
        "seed": cfg.seed,
        "customers": cfg.customers,
        "days": cfg.days,
        "start": cfg.start.isoformat(),
        "end": bank.day_date(cfg.days - 1).isoformat(),
        "events": bank.events_emitted,
        "kind_shares": cfg.kinds,
        "fate_shares": cfg.fates,
        "kind_counts": exact_counts(shares=cfg.kinds, total=cfg.customers),
        "fate_counts": exact_counts(shares=cfg.fates, total=cfg.customers),
        "churn_patterns": sorted(LEAVING_FATES),
        "reporting_currency": HOME,
        "fx_rates": [
            r.model_dump(mode="json")
            for r in fx_rates(rates=FX_RATES, as_of=bank.day_date(0), home=HOME)
        ],
        "labels": labels,
    }
