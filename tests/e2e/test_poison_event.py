"""Fault suite: a poison event end to end (ingest -> state monitor -> alerts, real broker, PostgreSQL).

Issue 14: a `complaint.filed` with NUL in its category was accepted, the monitor put the category
in the alert title, and PostgreSQL refused that alert forever, blocking every later one. Now
ingest refuses it with a 422 naming the field, and the next, clean complaint still reaches the
assigned manager while every service stays ready.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.e2e.test_pipeline import event, post

pytestmark = pytest.mark.integration

RULE = "stability.complaint_filed"


STACK_LABEL = "poison"  # names the processes of the `pipeline` fixture (conftest)


def _complaint(customer: str, category: str) -> dict:
    return event(
        customer,
        "complaint.filed",
        {"complaint_id": f"K-{uuid.uuid4().hex[:8]}", "category": category, "severity": "high"},
    )


def test_nul_complaint_is_refused_at_ingest_and_the_next_one_reaches_the_manager(
    pipeline: dict[str, str],
) -> None:
    customer = f"C-poison-{uuid.uuid4().hex[:8]}"
    with httpx.Client(timeout=10) as client:
        assigned = post(
            client,
            pipeline["ingest"],
            event(
                customer,
                "customer.assigned",
                {"relationship_manager_id": "rm.demo", "branch_id": "BR001"},
            ),
        )
        assert assigned.status_code == 202, assigned.text

        refused = post(client, pipeline["ingest"], _complaint(customer, "fees\u0000x"))
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["path"] == "$.payload.category"
        assert "control character U+0000 at position 4" in error["message"]
        assert "without control characters" in error["accepted"]

        accepted = post(client, pipeline["ingest"], _complaint(customer, "fees"))
        assert accepted.status_code == 202, accepted.text

        login = client.post(
            f"{pipeline['alerts']}/v1/auth/login",
            json={"username": "rm.demo", "password": "demo-only"},
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        deadline = time.monotonic() + 90
        mine: list[dict] = []
        while time.monotonic() < deadline and not mine:
            listed = client.get(
                f"{pipeline['alerts']}/v1/alerts",
                params={"customer_id": customer},
                headers=headers,
            )
            assert listed.status_code == 200, listed.text
            mine = [a for a in listed.json()["items"] if a["rule_id"] == RULE]
            if not mine:
                time.sleep(0.5)
        assert [a["title"] for a in mine] == ["Complaint filed (fees)"]

        for name in ("ingest", "monitor", "alerts"):
            ready = client.get(f"{pipeline[name]}/readyz")
            assert ready.status_code == 200, f"{name}: {ready.text}"
