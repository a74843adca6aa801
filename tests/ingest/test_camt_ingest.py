"""Issue 14 items 3, 8, 12 through the real ingest app on the real broker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from churnwatch_ingest.auth import sha256_key_hash
from churnwatch_ingest.settings import ProducerConfig
from tests.ingest.conftest import DEV_HEADERS, unique
from tests.ingest_adapters import builders as b

pytestmark = pytest.mark.integration

WRITER_KEY = "owner-writer-key-0123456789abcdef"
PLAIN_KEY = "plain-producer-key-0123456789abcdef"
PLAIN = ProducerConfig(producer="core", key_hash=sha256_key_hash(PLAIN_KEY), event_types=("*",))


def _writer() -> ProducerConfig:
    return ProducerConfig.model_validate({
        "producer": "onboarding", "key_hash": sha256_key_hash(WRITER_KEY),
        "event_types": ["transaction.posted"], "scopes": ["accounts:write"]})  # fmt: skip


async def _own(ingest: Any, account: str, customer: str) -> None:
    put = await ingest.client.put(
        f"/v1/accounts/{account}/owner", json={"customer_id": customer}, headers=DEV_HEADERS
    )
    assert put.status_code == 200, put.text


async def test_huge_exponent_amounts_are_a_quick_422_not_a_500(ingest: Any) -> None:
    iban = unique("CN")
    await _own(ingest, iban, unique("cust"))
    entries = [b.camt_entry(version="08", amount="1E+100000000", cd="CRDT", ref=unique("R"))
               for _ in range(40)]  # fmt: skip
    xml = b.camt(kind="camt.054", version="08", entries=entries, iban=iban)
    started_cpu, started = time.process_time(), time.monotonic()
    response = await ingest.client.post("/v1/iso20022/camt.054", content=xml, headers=DEV_HEADERS)
    assert time.process_time() - started_cpu < 0.5 and time.monotonic() - started < 5
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["rejected"] == 40 and body["accepted"] == 0
    assert body["items"][39]["item"] == "Ntry[39]"
    assert "16 integer digits" in body["items"][39]["reason"]


async def test_resent_camt_is_answered_duplicate_and_not_republished(ingest: Any) -> None:
    iban = unique("CN")
    await _own(ingest, iban, unique("cust"))
    entries = [b.camt_entry(version="04", amount="5.00", cd="DBIT", ref=unique("R"))]
    xml = b.camt(kind="camt.054", version="04", entries=entries, iban=iban)
    first = await ingest.client.post("/v1/iso20022/camt.054", content=xml, headers=DEV_HEADERS)
    assert first.status_code == 200 and first.json()["accepted"] == 1, first.text
    again = await ingest.client.post("/v1/iso20022/camt.054", content=xml, headers=DEV_HEADERS)
    assert again.status_code == 200, again.text
    assert again.json()["accepted"] == 0 and again.json()["duplicate"] == 1
    assert again.json()["items"][0]["outcome"] == "duplicate"


async def test_statement_without_entries_states_it(ingest: Any) -> None:
    xml = b.camt(kind="camt.053", version="03", entries=[], iban=unique("CN"))
    response = await ingest.client.post("/v1/iso20022/camt.053", content=xml, headers=DEV_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "camt.053.001.03"
    assert body["entries"] == 0 and body["closing_balances"] == 0 and body["accepted"] == 0


async def test_key_without_accounts_write_may_not_change_an_owner(
    start_ingest: Callable[..., Any], make_settings: Callable[..., Any]
) -> None:
    ingest = await start_ingest(make_settings(producers=[PLAIN]))
    url = f"/v1/accounts/{unique('acct')}/owner"
    refused = await ingest.client.put(
        url, json={"customer_id": "cust-evil"}, headers={"X-API-Key": PLAIN_KEY}
    )
    assert refused.status_code == 403, refused.text
    assert "accounts:write" in refused.text and "core" in refused.text
    assert (await ingest.client.get(url, headers={"X-API-Key": PLAIN_KEY})).status_code == 404
    # the development producer holds the scope, so the local demo still maps its accounts
    dev = await ingest.client.put(url, json={"customer_id": "c"}, headers=DEV_HEADERS)
    assert dev.status_code == 200, dev.text


async def test_owner_change_with_the_scope_is_audited(
    start_ingest: Callable[..., Any], make_settings: Callable[..., Any]
) -> None:
    ingest = await start_ingest(make_settings(producers=[PLAIN, _writer()]))
    account = unique("acct")
    with capture_logs() as logs:
        for customer in ("cust-a", "cust-b", "cust-b"):
            ok = await ingest.client.put(f"/v1/accounts/{account}/owner",
                                         json={"customer_id": customer},
                                         headers={"X-API-Key": WRITER_KEY})  # fmt: skip
            assert ok.status_code == 200, ok.text
    audit = [e for e in logs if e["event"] == "account_owner_changed"]
    assert [(e["producer"], e["account_id"], e["previous_customer_id"], e["customer_id"])
            for e in audit] == [("onboarding", account, None, "cust-a"),
                                ("onboarding", account, "cust-a", "cust-b")]  # fmt: skip
