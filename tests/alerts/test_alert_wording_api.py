"""An engine alert through intake storage to the inbox's alert detail (issue 17): the reasons in
plain language and the evidence as type, date, amount and counterparty, never raw codes or ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from churnwatch_alerts.alerts.service import store_alerts
from churnwatch_alerts.assignments.service import apply_assigned
from churnwatch_shared.alerts import Alert
from churnwatch_shared.events import CustomerAssigned
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.ruleset import load_ruleset
from tests.alerts.conftest import T0
from tests.state_monitor.events import at, model, outflow, snapshot

pytestmark = pytest.mark.integration

RAW_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def engine_alerts(customer: str) -> list[Alert]:
    """The monitor's own alerts for money leaving to the customer's account at another bank."""
    monitor = Monitor(ruleset=load_ruleset())
    now = datetime(2025, 12, 1, tzinfo=UTC)
    first = monitor.process(
        None, model(snapshot("s1", customer, at(0), demand="100000.00")), now=now
    )
    leaving = outflow("e1", customer, at(1), "95000.00")
    leaving["payload"]["counterparty_kind"] = "own_account"
    out = monitor.process(first.state, model(leaving), now=now)
    # the wire form, as intake reads it off the alerts topic
    return [Alert.model_validate_json(a.model_dump_json()) for a in out.alerts]


async def test_the_alert_detail_reads_in_plain_language(app: FastAPI) -> None:
    alerts = engine_alerts("C-words")
    assert alerts and all(a.evidence for a in alerts)
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
        detail = (await client.get(f"/v1/alerts/{large.alert_id}", headers=headers)).json()
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
