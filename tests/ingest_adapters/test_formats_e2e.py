"""Issue 7 end to end: Fineract records and camt.053/054 (02, 04, 08) into the real state monitor.

Ingest (Fineract bridge on, reading a source topic of this test) and the state monitor run as
subprocesses on the real broker in a fresh namespace. Fineract gives the client's profile, its
relationship manager and savings transactions (Fineract savings events carry no counterparty
bank, so they are own-bank flows); the interbank outflow arrives as a camt.054 entry whose
creditor agent is another bank. Each camt version gets its own customer: a camt.053 statement
(closing balance -> balance.snapshot, a booked credit, a pending entry) and then a camt.054 with
one large debit to another bank, which the monitor must flag.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from churnwatch_shared import topics
from tests.ingest_adapters import builders as b
from tests.support.kafka import consume_until, produce
from tests.support.monitor_auth import MONITOR_AUTH
from tests.support.stack import running_services

pytestmark = pytest.mark.integration

KEY = {"X-API-Key": "cw-dev-producer-key"}
RULE = "account_flow.large_interbank_outflow"
OTHER_BANK = "OTHRCNBJXXX"
VERSIONS = ("02", "04", "08")


async def _create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name=name, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()


@pytest.fixture
def stack(
    kafka_bootstrap: str, make_namespace: Callable[[], Awaitable[str]], tmp_path: Path
) -> Iterator[dict[str, str]]:
    namespace = asyncio.run(make_namespace())
    source = f"{namespace}.fineract-external-events"
    asyncio.run(_create_topic(kafka_bootstrap, source))
    with running_services(
        names=("monitor", "ingest"),
        bootstrap=kafka_bootstrap,
        namespace=namespace,
        data_dir=tmp_path,
        label="formats",
        env={
            "ingest": {
                "CHURNWATCH_INGEST_OWN_BICS": "OWNBCNSHXXX",
                "CHURNWATCH_INGEST_FINERACT_ENABLED": "true",
                "CHURNWATCH_INGEST_FINERACT_TOPIC": source,
                "CHURNWATCH_INGEST_FINERACT_DEFAULT_CURRENCY": "CNY",
                "CHURNWATCH_INGEST_RAW_VALIDATOR_ENABLED": "false",
            }
        },
    ) as urls:
        yield {"namespace": namespace, "bootstrap": kafka_bootstrap, "source": source, **urls}


def _fineract_records(tenant: str, key: str, created_at: str) -> list[bytes]:
    def record(event_type: str, schema: str, payload: dict[str, Any], suffix: str) -> bytes:
        return b.fineract_record(event_type=event_type, dataschema=schema, payload=payload,
                                 key=f"{key}-{suffix}", tenant=tenant, created_at=created_at)  # fmt: skip

    return [
        record("ClientCreateBusinessEvent", b.CLIENT, b.client(5, staff_id=7, office_id=3), "c"),
        record("SavingsActivateBusinessEvent", b.SAVINGS_ACCOUNT, b.savings_account(11, 5), "a"),
        record("SavingsDepositBusinessEvent", b.SAVINGS_TX,
               b.savings_tx(11, "100000", "100000", deposit=True), "d"),
        record("SavingsWithdrawalBusinessEvent", b.SAVINGS_TX,
               b.savings_tx(11, "2000", "98000", withdrawal=True), "w"),
    ]  # fmt: skip


def _state(client: httpx.Client, monitor: str, customer: str, *, events: int) -> dict[str, Any]:
    """The monitor's state of ``customer`` once it has applied ``events`` events."""
    deadline = time.monotonic() + 60
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"{monitor}/v1/customers/{customer}/state", headers=MONITOR_AUTH)
        if response.status_code == 200:
            body = response.json()
            if body["events_applied"] >= events:
                return body
        time.sleep(0.3)
    raise AssertionError(f"{customer}: state never reached {events} events: {body}")


def test_fineract_and_camt_reach_the_state_monitor(stack: dict[str, str]) -> None:
    run = uuid.uuid4().hex[:8]
    tenant = f"bank{run}"
    today = datetime.now(UTC).date()
    day = today.isoformat()
    yesterday = f"{today - timedelta(days=1)}T10:00:00"
    fineract_customer = f"fineract:{tenant}:client:5"
    savings = f"fineract:{tenant}:savings:11"
    camt_customers = {v: f"C-camt{v}-{run}" for v in VERSIONS}
    ingest, monitor = stack["ingest"], stack["monitor"]

    # 1. Fineract: client (profile + relationship manager), savings account, deposit, withdrawal.
    records = _fineract_records(tenant, f"fx-{run}", yesterday)
    asyncio.run(produce(bootstrap=stack["bootstrap"], topic=stack["source"],
                        records=[(b"client-5", r) for r in records]))  # fmt: skip

    with httpx.Client(timeout=15) as client:
        fineract_state = _state(client, monitor, fineract_customer, events=4)
        assert fineract_state["branch_id"] == f"fineract:{tenant}:office:3"
        assert fineract_state["segment"] == "retail"
        owner = client.get(f"{ingest}/v1/accounts/{savings}/owner", headers=KEY)
        assert owner.json() == {"account_id": savings, "customer_id": fineract_customer}

        # 2. camt.053 then camt.054 for one customer per version (owners set over the API).
        for version, customer in camt_customers.items():
            iban = f"CN{version}{run}".upper()
            put = client.put(f"{ingest}/v1/accounts/{iban}/owner", json={"customer_id": customer},
                             headers=KEY)  # fmt: skip
            assert put.status_code == 200, put.text
            statement = b.camt(
                kind="camt.053", version=version, iban=iban, day=day,
                msg_id=f"S-{run}-{version}", closing=("1000000.00", "CRDT"),
                entries=[
                    b.camt_entry(version=version, amount="5000.00", cd="CRDT", day=day,
                                 ref=f"P-{run}-{version}", family=("PMNT", "RCDT", "SALA")),
                    b.camt_entry(version=version, amount="7.00", cd="DBIT", day=day,
                                 ref=f"Q-{run}-{version}", status="PDNG"),
                ],
            )  # fmt: skip
            answer = client.post(f"{ingest}/v1/iso20022/camt.053", content=statement,
                                 headers={**KEY, "Content-Type": "application/xml"})  # fmt: skip
            assert answer.status_code == 200, answer.text
            assert [i["outcome"] for i in answer.json()["items"]] == [
                "accepted", "skipped", "accepted"
            ]  # fmt: skip
            assert answer.json()["message"] == f"camt.053.001.{version}"
            notification = _large_debit(version, iban=iban, ref=f"D-{run}-{version}", day=day)
            sent = client.post(f"{ingest}/v1/iso20022/camt.054", content=notification,
                               headers={**KEY, "Content-Type": "application/xml"})  # fmt: skip
            assert sent.status_code == 200, sent.text
            assert sent.json()["accepted"] == 1

        # 3. The Fineract customer's savings account moves money out in a camt.054 (08).
        outflow = b.camt(
            kind="camt.054", version="08", iban=None, other_id=savings, day=day,
            msg_id=f"N-{run}-fx",
            entries=[b.camt_entry(version="08", amount="60000.00", cd="DBIT", day=day,
                                  ref=f"D-{run}-fx", agent_bic=OTHER_BANK)],
        )  # fmt: skip
        for _ in range(2):  # the resend must not raise a second alert
            sent = client.post(f"{ingest}/v1/iso20022/camt.054", content=outflow,
                               headers={**KEY, "Content-Type": "application/xml"})  # fmt: skip
            assert sent.status_code == 200, sent.text

        # 4. States: balance snapshot and transactions applied, interbank outflow seen.
        for version, customer in camt_customers.items():
            state = _state(client, monitor, customer, events=3)
            flow = state["states"]["account_flow"]
            assert flow["metrics"]["interbank_outflow_30d"] == "600000.00", (version, flow)
            assert flow["metrics"]["inflow_30d"] == "5000.00", (version, flow)
        fineract_state = _state(client, monitor, fineract_customer, events=5)
        flow = fineract_state["states"]["account_flow"]
        assert flow["metrics"]["interbank_outflow_30d"] == "60000.00", flow
        assert flow["metrics"]["outflow_30d"] == "62000.00", flow  # withdrawal + camt debit

        metrics = client.get(f"{ingest}/metrics").text
        assert (
            'churnwatch_ingest_fineract_published_total{event_type="transaction.posted"} 2.0'
            in (metrics)
        )
        assert 'source="iso20022"' in metrics

    # 5. Exactly one large-interbank-outflow alert per customer, on the ALERTS topic.
    expected = {*camt_customers.values(), fineract_customer}

    def alerts_of(records: list[Any]) -> list[dict[str, Any]]:
        return [a for a in (orjson.loads(r.value) for r in records) if a["customer_id"] in expected]

    records = asyncio.run(
        consume_until(
            bootstrap=stack["bootstrap"],
            topic=topics.ALERTS.name(stack["namespace"]),
            predicate=lambda rs: (
                {a["customer_id"] for a in alerts_of(rs) if a["rule_id"] == RULE} == expected
            ),
            timeout=60,
            settle=3.0,
        )
    )
    large = [a for a in alerts_of(records) if a["rule_id"] == RULE]
    assert sorted(a["customer_id"] for a in large) == sorted(expected)
    by_customer = {a["customer_id"]: a for a in large}
    assert by_customer[fineract_customer]["evidence_event_ids"] == [f"iso20022:D-{run}-fx"]
    assert by_customer[fineract_customer]["observed"] == pytest.approx(60000 / 98000, abs=1e-3)
    for customer in camt_customers.values():  # 600,000 of the 1,000,000 closing balance
        assert by_customer[customer]["observed"] == pytest.approx(0.6, abs=1e-3)


def _large_debit(version: str, *, iban: str, ref: str, day: str) -> bytes:
    entry = b.camt_entry(version=version, amount="600000.00", cd="DBIT", day=day, ref=ref,
                         agent_bic=OTHER_BANK)  # fmt: skip
    return b.camt(kind="camt.054", version=version, iban=iban, day=day, msg_id=f"N-{ref}",
                  entries=[entry])  # fmt: skip
