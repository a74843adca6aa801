"""The demo feed for ``make run``: 30 customers of ``rm.demo`` with weeks of history, then a trickle."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import httpx
import orjson

from churnwatch_simulator.bank import CHINA_STANDARD_TIME, SimulatedBank, SimulationConfig
from churnwatch_simulator.emitter import DayWriter, Draft
from churnwatch_simulator.plans import Pattern, Plan
from churnwatch_simulator.population import FEN, Staffing
from churnwatch_simulator.sinks import IngestSink, Sink, pump

DEMO_MANAGER = "rm.demo"
DEMO_TEAM = "team.demo"
DEMO_BRANCH = "BR001"
DEMO_DAYS = 70


def demo_plans(*, days: int = DEMO_DAYS) -> list[Plan]:
    """30 plans whose signals all fall inside the history (churn itself stays in the future)."""
    last = days - 1

    def plan(pattern: Pattern, drift_ago: int | None, churn_in: int | None, **marks: int) -> Plan:
        return Plan(
            pattern=pattern,
            drift_start=None if drift_ago is None else last - drift_ago,
            churn_day=None if churn_in is None else days + churn_in,
            marks=dict(marks),
        )

    # a single large outflow yesterday, or after a slow leak
    plans = [
        plan(Pattern.INTERBANK_OUTFLOW, drift_ago, 3, big_outflow_day=last)
        for drift_ago in (0, 0, 0, 9, 9, 9)
    ]
    plans += [plan(Pattern.PAYROLL_STOP, 40, 20) for _ in range(3)]
    plans += [plan(Pattern.PRODUCT_ATTRITION, 30, 5) for _ in range(3)]
    plans += [plan(Pattern.COMPLAINT_SILENCE, ago, 30) for ago in (12, 6, 2)]
    plans += [
        plan(Pattern.CREDIT_DETERIORATION, ago, None) for ago in (45, 35, 95 if days > 95 else 60)
    ]
    plans += [plan(Pattern.PRIVATE_BANKING_SLIDE, 40, 5) for _ in range(2)]
    plans += [plan(Pattern.ACTIVITY_FADE, 40, 10) for _ in range(2)]
    for i in range(4):
        plans.append(
            plan(
                Pattern.NOISY_LOYAL,
                None,
                None,
                bonus_day=last - 20 - i,
                purchase_day=last - 5 - i,
                holiday_start=last - 40 + i,
                holiday_end=last - 26 + i,
            )
        )
    plans += [Plan(pattern=Pattern.NORMAL) for _ in range(30 - len(plans))]
    return plans


def demo_bank(
    *, seed: int = 7, days: int = DEMO_DAYS, now: datetime | None = None
) -> SimulatedBank:
    """The demo population; its history ends at the last midnight (China time) before ``now``."""
    now = now or datetime.now(UTC)
    midnight = now.astimezone(CHINA_STANDARD_TIME).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    config = SimulationConfig(
        customers=30,
        days=days,
        seed=seed,
        start=midnight - timedelta(days=days),
        snapshot_every=3,
        corporate_share=0.2,
        staffing=Staffing(
            fixed_manager=DEMO_MANAGER, fixed_team=DEMO_TEAM, fixed_branch=DEMO_BRANCH
        ),
        id_prefix="sim-demo",
        customer_prefix="DEMO",
    )
    return SimulatedBank(config=config, plans=demo_plans(days=days))


def live_events(
    *, bank: SimulatedBank, run_id: str, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """Endless everyday events of the demo's steady customers, stamped with the wall clock."""
    steady = [
        c
        for c in bank.customers
        if c.plan.pattern in (Pattern.NORMAL, Pattern.NOISY_LOYAL) and c.closed_day is None
    ]
    drafts: list[Draft] = []
    writer = DayWriter(rng=rng, out=drafts)
    n = 0
    while True:
        c = rng.choice(steady)
        writer.begin(c)
        roll = rng.random()
        if roll < 0.6:
            writer.debit(
                max(FEN, int(c.spend_size * rng.uniform(0.2, 1.5))),
                category="card_spend",
                channel=rng.choice(("pos", "mobile")),
            )
        elif roll < 0.8:
            writer.credit(
                rng.randint(50, 2000) * FEN, category="internal_transfer", channel="mobile"
            )
        else:
            writer.debit(
                c.demand * rng.randint(1, 5) // 100,
                category="interbank_transfer",
                channel="mobile",
                other_bank=True,
            )
        for _sec, _idx, _seq, event_type, customer_id, account_id, payload in drafts:
            n += 1
            event: dict[str, Any] = {
                "event_id": f"sim-demo-live-{run_id}-{n}",
                "schema_version": 1,
                "occurred_at": datetime.now(UTC).isoformat(),
                "customer_id": customer_id,
                "event_type": event_type,
                "payload": payload,
            }
            if account_id is not None:
                event["account_id"] = account_id
            yield event
        drafts.clear()


async def wait_for_health(*, url: str, timeout: float, stream: IO[str] = sys.stderr) -> None:
    """Poll ``{url}/healthz`` until it answers 200; SystemExit with a clear message on timeout."""
    deadline = time.monotonic() + timeout
    health = url.rstrip("/") + "/healthz"
    print(f"waiting for ingest at {health} (up to {timeout:.0f}s)", file=stream, flush=True)
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            try:
                if (await client.get(health)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"ingest did not answer {health} within {timeout:.0f}s; start it "
                    "(python -m churnwatch_ingest) or pass --url / --health-timeout"
                )
            await asyncio.sleep(0.5)


async def run_demo(
    *,
    url: str,
    api_key: str,
    seed: int,
    once: bool,
    trickle_rate: float,
    health_timeout: float,
    sink: Sink | None = None,
    stream: IO[str] = sys.stderr,
) -> SimulatedBank:
    """Send the demo history, then trickle everyday events until cancelled (unless ``once``)."""
    await wait_for_health(url=url, timeout=health_timeout, stream=stream)
    bank = demo_bank(seed=seed)
    sink = sink or IngestSink(url=url, api_key=api_key)
    try:
        history = (orjson.dumps(e) for e in bank.events())
        tally = await pump(lines=history, sink=sink, batch_size=500, stream=stream)
        print(
            f"demo history sent for {len(bank.customers)} customers of {DEMO_MANAGER}",
            file=stream,
            flush=True,
        )
        if tally.rejections:
            print(f"first rejection: {tally.rejections[0]}", file=stream, flush=True)
        if once:
            return bank
        print(f"trickling ~{trickle_rate:g} events/s; Ctrl-C to stop", file=stream, flush=True)
        run_id = str(int(time.time()))
        live = (
            orjson.dumps(e)
            for e in live_events(bank=bank, run_id=run_id, rng=random.Random(seed + 1))
        )
        await pump(
            lines=live,
            sink=sink,
            batch_size=1,
            rate=trickle_rate,
            progress_every=30.0,
            stream=stream,
        )
    finally:
        await sink.close()
    return bank
