"""Objections to profiling for marketing, on PostgreSQL: recorded and withdrawn through the
privacy API and the CLI (both audited); while it stands the customer gets no marketing suggestion
and no action picked by their value profile, while risk-driven actions stay."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

import churnwatch_alerts.playbook
from churnwatch_alerts.auth.tokens import mint_token
from churnwatch_alerts.customers.repository import upsert_state
from churnwatch_alerts.models import AuditEntry, Role
from tests.alerts.conftest import started_app
from tests.alerts.seed import assign, value_review
from tests.alerts.value_builders import make_snapshot

pytestmark = pytest.mark.integration

T = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
IDLE, AT_RISK = "OBJ-idle", "OBJ-risk"


# the packaged playbook plus a service (not marketing) action chosen by the value profile only
PLAYBOOK = (
    Path(churnwatch_alerts.playbook.__file__).parent.joinpath("playbook.yaml").read_text()
    + """
  value_check_in:
    title: Check in with a customer the value review says to maintain
    kind: service
    priority: 10
    when:
      strategy_any: [maintain]
"""
)


@pytest.fixture
async def app(make_database: Callable[[], str], tmp_path: Path) -> AsyncIterator[FastAPI]:
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(PLAYBOOK)
    async with started_app(
        database_url=make_database(),
        at=T,
        value_reviews_enabled=False,
        playbook_control_share=0.0,
        playbook_file=playbook,
    ) as application:
        async with application.state.sessionmaker() as session, session.begin():
            for customer, level in ((IDLE, "normal"), (AT_RISK, "warning")):
                await assign(session, customer_id=customer, at=T)
                snapshot = make_snapshot(
                    customer, churn_level=level, demand="500000", outflow_30d="1000"
                )
                await upsert_state(session, customer_id=customer, as_of=T, snapshot=snapshot, now=T)
                session.add(value_review(customer_id=customer, at=T, period="2026-11"))
        yield application


def _auth(app: FastAPI, sub: str, role: Role) -> dict[str, str]:
    token = mint_token(
        secret=app.state.settings.jwt_secret, sub=sub, role=role, now=T, ttl_seconds=3600
    )
    return {"Authorization": f"Bearer {token}"}


async def _codes(c: httpx.AsyncClient, app: FastAPI, customer: str) -> tuple[list[str], bool]:
    got = await c.get(
        f"/v1/customers/{customer}/suggestions",
        headers=_auth(app, "rm.demo", Role.RELATIONSHIP_MANAGER),
    )
    assert got.status_code == 200, got.text
    body = got.json()
    return [s["code"] for s in body["suggestions"]], body["marketing_objection"]


async def test_an_objection_withholds_marketing_and_value_targeting_until_withdrawn(
    app: FastAPI,
) -> None:
    officer = _auth(app, "dpo.anna", Role.PRIVACY_OFFICER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert await _codes(c, app, IDLE) == (["fund_or_bond_offer", "value_check_in"], False)
        assert await _codes(c, app, AT_RISK) == (
            ["retention_call", "fund_or_bond_offer", "value_check_in"],
            False,
        )
        for customer in (IDLE, AT_RISK):
            put = await c.put(
                f"/v1/privacy/objections/{customer}", headers=officer, json={"channel": "branch"}
            )
            assert put.status_code == 200 and put.json()["objects_to_marketing"] is True
        again = await c.put(f"/v1/privacy/objections/{IDLE}", headers=officer, json={})
        assert again.json()["channel"] == "branch"  # recorded once; a repeat changes nothing
        # no marketing, nothing chosen by the value profile; the risk-driven call stays
        assert await _codes(c, app, IDLE) == ([], True)
        assert await _codes(c, app, AT_RISK) == (["retention_call"], True)
        bad = await c.put("/v1/privacy/objections/not%20an%20id", headers=officer, json={})
        assert bad.status_code == 422
        withdrawn = await c.delete(f"/v1/privacy/objections/{IDLE}", headers=officer)
        assert withdrawn.status_code == 200 and withdrawn.json()["objects_to_marketing"] is False
        missing = await c.delete(f"/v1/privacy/objections/{IDLE}", headers=officer)
        assert missing.status_code == 404 and "has no objection" in missing.text
        assert await _codes(c, app, IDLE) == (["fund_or_bond_offer", "value_check_in"], False)
        read = await c.get(f"/v1/privacy/objections/{AT_RISK}", headers=officer)
        assert read.status_code == 200 and read.json()["objects_to_marketing"] is True
    async with app.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(AuditEntry.actor, AuditEntry.action, AuditEntry.customer_id).where(
                    AuditEntry.action.like("privacy.objection%")
                )
            )
        ).all()
    assert sorted(rows) == sorted(
        [
            ("dpo.anna", "privacy.objection_recorded", AT_RISK),
            ("dpo.anna", "privacy.objection_recorded", IDLE),
            ("dpo.anna", "privacy.objection_withdrawn", IDLE),
            ("dpo.anna", "privacy.objection_read", AT_RISK),
        ]
    )


async def test_objection_cli_records_and_withdraws(app: FastAPI) -> None:
    url = app.state.settings.database_url

    async def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "churnwatch_alerts", "objection", *args, "--database-url", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    recorded = await cli("record", IDLE, "--channel", "letter", "--by", "dpo.cli")
    assert recorded.returncode == 0, recorded.stderr
    assert '"objects_to_marketing": true' in recorded.stdout
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert await _codes(c, app, IDLE) == ([], True)
    assert (await cli("withdraw", IDLE, "--by", "dpo.cli")).returncode == 0
    again = await cli("withdraw", IDLE)
    assert again.returncode == 1 and "has no objection" in again.stderr
