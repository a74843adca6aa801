"""A scripted attacker cannot flood the audit log (issue 17 follow-up): refusals are audited one
by one only for the first few per principal and client address each minute, then counted into
one summary row; password guessing is throttled (429 with Retry-After) before the password is
even checked. Real PostgreSQL, the app over ASGI, a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from churnwatch_alerts.audit.refusals import RefusalAudit
from churnwatch_alerts.models import AuditEntry
from tests.alerts.conftest import login

SUMMARY = "audit.refusals_suppressed"


async def _rows(app: FastAPI, actor: str) -> list[AuditEntry]:
    async with app.state.sessionmaker() as session:
        stmt = select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.id)
        return list((await session.scalars(stmt)).all())


async def test_password_guessing_is_throttled_and_its_audit_aggregated(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    limit = app.state.settings.refusal_audit_per_minute
    guesses = 40
    answers = []
    for n in range(guesses):
        answer = await client.post(
            "/v1/auth/login", json={"username": "rm.demo", "password": f"guess-{n}"}
        )
        answers.append(answer.status_code)
    failures = app.state.settings.login_max_failures
    assert answers[:failures] == [401] * failures
    assert set(answers[failures:]) == {429}, answers
    throttled = await client.post(
        "/v1/auth/login", json={"username": "rm.demo", "password": "demo-only"}
    )
    assert throttled.status_code == 429  # even the right password waits: no oracle
    assert int(throttled.headers["Retry-After"]) > 0
    assert "too many failed logins" in throttled.json()["detail"]
    rows = await _rows(app, "rm.demo")
    assert len(rows) == limit, [r.action for r in rows]  # not one row per guess
    # The minute ends: one summary row counts what was not written one by one.
    app.state.clock.advance(seconds=61)
    await app.state.refusal_audit.flush(
        sessionmaker=app.state.sessionmaker, now=app.state.clock.now()
    )
    summary = [r for r in await _rows(app, "rm.demo") if r.action == SUMMARY]
    assert len(summary) == 1
    detail = summary[0].detail
    assert detail["suppressed"] == guesses + 1 - limit
    assert limit == failures  # the defaults: the failed logins are written, the throttled counted
    assert detail["actions"] == {"auth.login_throttled": guesses + 1 - failures}
    assert detail["source"]
    # After the throttle window the right password works again.
    app.state.clock.advance(seconds=app.state.settings.login_failure_window_seconds)
    assert (await login(client, "rm.demo"))["Authorization"].startswith("Bearer ")


async def test_denied_reads_are_aggregated_per_principal(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await login(client, "rm.demo")
    limit = app.state.settings.refusal_audit_per_minute
    for n in range(25):
        denied = await client.get(f"/v1/customers/NOT{n:03d}/value", headers=headers)
        assert denied.status_code == 404
    rows = [r for r in await _rows(app, "rm.demo") if r.action.endswith("_denied")]
    assert len(rows) == limit
    app.state.clock.advance(seconds=61)
    # the next refusal after the minute writes the summary of the one before, then itself
    again = await client.get("/v1/customers/NOT999/value", headers=headers)
    assert again.status_code == 404
    after = await _rows(app, "rm.demo")
    [summary] = [r for r in after if r.action == SUMMARY]
    assert summary.detail["suppressed"] == 25 - limit
    assert summary.detail["actions"] == {"customer.value_read_denied": 25 - limit}
    assert len([r for r in after if r.action.endswith("_denied")]) == limit + 1


def test_limits_are_per_principal_and_address_and_bounded() -> None:
    audit = RefusalAudit(per_minute=2, max_keys=3)
    t = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    admit = [audit.admit(actor="a", source="1.1.1.1", action="x", now=t)[0] for _ in range(4)]
    assert admit == [True, True, False, False]
    assert audit.admit(actor="b", source="1.1.1.1", action="x", now=t)[0]
    assert audit.admit(actor="a", source="2.2.2.2", action="x", now=t)[0]
    # a fourth key exceeds max_keys: it shares one overflow bucket with every other newcomer
    first = [audit.admit(actor=f"z{n}", source="9.9.9.9", action="x", now=t)[0] for n in range(5)]
    assert first == [True, True, False, False, False]
    assert len(audit) <= 4
    ended = audit.ended(now=datetime(2026, 12, 5, 9, 1, 1, tzinfo=UTC))
    counts = {(s.actor, s.source): s.suppressed for s in ended}
    assert counts == {("a", "1.1.1.1"): 2, ("*", "*"): 3}
    assert len(audit) == 0
