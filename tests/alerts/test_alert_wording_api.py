"""An engine alert through intake storage to the inbox's alert detail (issue 17): the reasons in
plain language and the evidence as type, date, amount and counterparty, never raw codes or ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from churnwatch_alerts.alerts.service import store_alerts
from churnwatch_alerts.assignments.service import apply_assigned
from churnwatch_shared.alerts import Alert
from churnwatch_shared.events import CustomerAssigned
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset
from tests.alerts.conftest import T0, started_app
from tests.state_monitor.events import at, model, outflow, snapshot

pytestmark = pytest.mark.integration

RAW_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def engine_alerts(customer: str, *, hours: float = 0) -> list[Alert]:
    """The monitor's own alerts for money leaving to the customer's account at another bank,
    ``hours`` after 4 Nov 2025, 09:00 UTC."""
    monitor = Monitor(ruleset=load_ruleset())
    now = datetime(2025, 12, 1, tzinfo=UTC)
    first = monitor.process(
        None, model(snapshot("s1", customer, at(0), demand="100000.00")), now=now
    )
    leaving = outflow("e1", customer, at(1, hours=hours), "95000.00")
    leaving["payload"]["counterparty_kind"] = "own_account"
    out = monitor.process(first.state, model(leaving), now=now)
    # the wire form, as intake reads it off the alerts topic
    return [Alert.model_validate_json(a.model_dump_json()) for a in out.alerts]


async def large_outflow_detail(app: FastAPI, alerts: list[Alert]) -> dict[str, Any]:
    """The large-outflow alert's detail as rm.demo reads it, the alerts stored for C-words."""
    async with app.state.sessionmaker() as session, session.begin():
        await apply_assigned(
            session,
            customer_id="C-words",
            payload=CustomerAssigned(relationship_manager_id="rm.demo"),
            occurred_at=T0,
            actor="test",
            now=T0,
        )
        await store_alerts(session, alerts=alerts, now=T0, sla_seconds={})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        login = await client.post(
            "/v1/auth/login", json={"username": "rm.demo", "password": "demo-only"}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        large = next(a for a in alerts if a.rule_id == "account_flow.large_interbank_outflow")
        detail: dict[str, Any] = (
            await client.get(f"/v1/alerts/{large.alert_id}", headers=headers)
        ).json()
    return detail


async def test_the_alert_detail_reads_in_plain_language(app: FastAPI) -> None:
    alerts = engine_alerts("C-words")
    assert alerts and all(a.evidence for a in alerts)
    detail = await large_outflow_detail(app, alerts)
    assert detail["rule_name"] == "Large transfer to another bank"
    # stored as the monitor sent it (intake keeps the whole alert)
    assert detail["evidence"]["evidence"][0]["amount"] == "95000.00"
    [reason] = detail["reason_lines"]
    assert "95%" in reason and "100,000 CNY" in reason and "on 4 Nov 2025" in reason
    assert detail["evidence_lines"] == [
        "Transaction on 4 Nov 2025: 95,000 CNY, counterparty the customer's own account."
    ]
    for line in detail["reason_lines"] + detail["evidence_lines"]:
        assert not RAW_CODE.search(line), line
        assert "e1" not in line.split()


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Asia/Shanghai", "5 Nov 2025"),  # 20:00 UTC on the 4th is 04:00 on the 5th there
        ("America/New_York", "4 Nov 2025"),
    ],
)
async def test_reasons_and_evidence_name_the_day_in_the_banks_time_zone(
    make_database: Any, zone: str, day: str
) -> None:
    """A producer that stamps UTC: the transfer at 20:00 UTC on 4 Nov is on 5 Nov for a bank in
    Shanghai, as its managers' pages show it, not the UTC day the producer's offset says."""
    alerts = engine_alerts("C-words", hours=11)
    assert alerts[0].occurred_at.utcoffset() is not None
    async with started_app(database_url=make_database(), display_time_zone=zone) as app:
        detail = await large_outflow_detail(app, alerts)
    [reason] = detail["reason_lines"]
    assert f"on {day}" in reason, reason
    assert detail["evidence_lines"] == [
        f"Transaction on {day}: 95,000 CNY, counterparty the customer's own account."
    ]
