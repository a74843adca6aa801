"""camt.053/054 parsing, mapping and the HTTP router (mounted on a minimal app)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from churnwatch_ingest.adapters.accounts import AccountOwners, build_accounts_router
from churnwatch_ingest.adapters.iso20022.endpoints import build_iso20022_router
from churnwatch_ingest.adapters.iso20022.mapping import map_camt
from churnwatch_ingest.adapters.iso20022.parse import CamtError, parse_camt
from tests.ingest_adapters import builders as b

OWN = frozenset({"OWNBCNSHXXX"})
OWNERS = {"CN0012345678": "cust-1", "ACC-OTHR-9": "cust-9"}


@pytest.mark.parametrize("version", ["02", "04", "08"])
def test_camt054_each_version(version: str) -> None:
    entries = [
        b.camt_entry(version=version, amount="6000.00", cd="DBIT", ref="E1", agent_bic="OTHRCNBJ"),
        b.camt_entry(version=version, amount="10.00", cd="CRDT", ref="E2", agent_bic="OWNBCNSH"),
        b.camt_entry(version=version, amount="5.00", cd="DBIT", ref="E3", status="PDNG"),
    ]
    message = parse_camt(
        b.camt(kind="camt.054", version=version, entries=entries), expected="camt.054"
    )
    assert message.version == version
    result = map_camt(message, owner_of=OWNERS.get, own_bics=OWN, producer="bank-a")
    assert [o.outcome for o in result.outcomes] == ["accepted", "accepted", "skipped"]
    out, inn = result.events
    assert out.payload.direction == "debit" and out.payload.amount == Decimal("6000.00")
    assert out.payload.counterparty_is_own_bank is False
    assert out.payload.category == "interbank_transfer"
    assert out.payload.counterparty_bank == "OTHRCNBJ"
    assert (out.customer_id, out.account_id, out.event_id) == (
        "cust-1",
        "CN0012345678",
        "iso20022:E1",
    )
    assert (
        inn.payload.counterparty_is_own_bank is True and inn.payload.category == "internal_transfer"
    )


@pytest.mark.parametrize("version", ["02", "04", "08"])
def test_camt053_closing_balance_and_othr_account(version: str) -> None:
    entries = [
        b.camt_entry(version=version, amount="1.00", cd="DBIT", family=("PMNT", "CCRD", "CHRG"))
    ]
    xml = b.camt(kind="camt.053", version=version, entries=entries, iban=None,
                 other_id="ACC-OTHR-9", closing=("12.50", "DBIT"))  # fmt: skip
    result = map_camt(
        parse_camt(xml, expected="camt.053"), owner_of=OWNERS.get, own_bics=OWN, producer="p"
    )
    fee, snapshot = result.events
    assert fee.payload.category == "fee" and fee.customer_id == "cust-9"
    assert snapshot.event_type == "balance.snapshot"
    assert snapshot.payload.balances[0].balance == Decimal("-12.50")
    assert str(snapshot.payload.as_of) == "2025-03-01"


def test_unmappable_entries_are_listed_rest_accepted() -> None:
    entries = [
        b.camt_entry(version="08", amount="1.00", cd="DBIT", ref="ok"),
        b.camt_entry(version="08", amount="1.00", cd="DBIT", ref="bad", ccy="XXX"),
    ]
    xml = b.camt(kind="camt.054", version="08", entries=entries)
    result = map_camt(
        parse_camt(xml, expected="camt.054"), owner_of=OWNERS.get, own_bics=OWN, producer="p"
    )
    assert [o.outcome for o in result.outcomes] == ["accepted", "rejected"]
    assert "currency" in (result.outcomes[1].reason or "")


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (b"<Document><unclosed></Document>", 400, "line 1"),
        ((b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
          b"\n<lolz>&lol2;</lolz>"), 400, "forbidden"),
        (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
         400, "forbidden"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.14"/>', 422, "unsupported"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"/>', 422, "unsupported"),
        (b"<x/>" + b" " * 100, 413, "larger"),
    ],
)  # fmt: skip
def test_hostile_and_wrong_documents(body: bytes, status: int, text: str) -> None:
    with pytest.raises(CamtError) as info:
        parse_camt(body, expected="camt.054", max_bytes=100 if status == 413 else 10_000)
    assert info.value.status == status
    assert text in info.value.message


def test_malformed_xml_names_the_line() -> None:
    xml = b.camt(kind="camt.054", version="04", entries=[]).replace(b"</GrpHdr>", b"</GrpHdrX>")
    with pytest.raises(CamtError) as info:
        parse_camt(xml, expected="camt.054")
    assert info.value.status == 400 and "line 3" in info.value.message


class _Producer:
    name = "bank-a"

    def __init__(self, allowed: bool = True) -> None:
        self.allowed = allowed

    def may_send(self, event_type: str) -> bool:
        return self.allowed

    def has_scope(self, scope: str) -> bool:
        return self.allowed


def _app(
    published: list, *, allowed: bool = True, fail: bool = False
) -> tuple[FastAPI, AccountOwners]:
    owners = AccountOwners()

    async def publish(events: list) -> None:
        if fail:
            raise ConnectionError("broker down")
        published.extend(events)

    def producer() -> _Producer:
        return _Producer(allowed)

    app = FastAPI()
    app.include_router(build_iso20022_router(
        publish=publish, owner_of=owners.owner, producer_dependency=producer, own_bics=OWN,
        max_body_bytes=20_000))  # fmt: skip
    app.include_router(build_accounts_router(owners=owners, producer_dependency=producer))
    return app, owners


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_http_flow_owner_then_camt054() -> None:
    published: list = []
    app, _ = _app(published)
    xml = b.camt(kind="camt.054", version="08", entries=[
        b.camt_entry(version="08", amount="6000", cd="DBIT", agent_bic="OTHRCNBJXXX")])  # fmt: skip
    async with await _client(app) as client:
        refused = await client.post("/v1/iso20022/camt.054", content=xml)
        assert refused.status_code == 422 and refused.json()["rejected"] == 1
        assert "unknown account" in refused.json()["items"][0]["reason"]
        put = await client.put("/v1/accounts/CN0012345678/owner", json={"customer_id": "cust-1"})
        assert put.status_code == 200
        assert (await client.get("/v1/accounts/CN0012345678/owner")).json()[
            "customer_id"
        ] == "cust-1"
        assert (await client.get("/v1/accounts/nope/owner")).status_code == 404
        ok = await client.post("/v1/iso20022/camt.054", content=xml)
        assert ok.status_code == 200, ok.text
        assert ok.json()["accepted"] == 1
        wrong = await client.post("/v1/iso20022/camt.053", content=xml)
        assert wrong.status_code == 422
        big = await client.post("/v1/iso20022/camt.054", content=b"<a>" + b"x" * 30_000 + b"</a>")
        assert big.status_code == 413
        bomb = await client.post("/v1/iso20022/camt.054",
                                 content=b'<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>')  # fmt: skip
        assert bomb.status_code == 400
    assert [e.producer for e in published] == ["bank-a"]
    assert published[0].payload.counterparty_is_own_bank is False


async def test_http_scope_and_broker_failure() -> None:
    xml = b.camt(
        kind="camt.054", version="02", entries=[b.camt_entry(version="02", amount="1", cd="CRDT")]
    )
    app, _ = _app([], allowed=False)
    async with await _client(app) as client:
        assert (await client.post("/v1/iso20022/camt.054", content=xml)).status_code == 403
    app, owners = _app([], fail=True)
    owners.remember(account_id="CN0012345678", customer_id="cust-1", source="t")
    async with await _client(app) as client:
        response = await client.post("/v1/iso20022/camt.054", content=xml)
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
