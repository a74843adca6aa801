"""Issue 14 item 3 for Fineract: an oversized Avro decimal is refused before any Decimal work."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from churnwatch_ingest.adapters.accounts import AccountOwners
from churnwatch_ingest.adapters.fineract import schemas
from churnwatch_ingest.adapters.fineract.decode import MalformedRecord, decode_message
from churnwatch_ingest.adapters.fineract.mapping import FineractMapper
from tests.ingest_adapters import builders as b


def _as_plain_bytes(schema: Any) -> Any:
    """The same wire format with every decimal as raw bytes, so a test can write any unscaled value."""
    if isinstance(schema, dict):
        if schema.get("logicalType") == "decimal":
            return "bytes"
        return {k: _as_plain_bytes(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_as_plain_bytes(v) for v in schema]
    return schema


def _deposit(amount: bytes) -> bytes:
    payload = {**b.savings_tx(11, "1", "1", deposit=True), "amount": amount, "runningBalance": None}
    data = b.avro(_as_plain_bytes(schemas.PAYLOAD_SCHEMAS[b.SAVINGS_TX]), payload)
    good = decode_message(b.fineract_record(event_type="SavingsDepositBusinessEvent",
                          dataschema=b.SAVINGS_TX, payload=b.savings_tx(11, "1", "1"), key="k"))  # fmt: skip
    return b.avro(schemas.PARSED_MESSAGE_V1, {
        "id": 1, "source": good.source, "type": good.type, "category": good.category,
        "createdAt": good.created_at, "businessDate": good.business_date,
        "tenantId": good.tenant_id, "idempotencyKey": "k-huge", "dataschema": good.dataschema,
        "data": data})  # fmt: skip


@pytest.fixture
def mapper() -> FineractMapper:
    owners = AccountOwners()
    owners.remember(account_id="fineract:default:savings:11", customer_id="c11", source="t")
    return FineractMapper(owners=owners)


def test_oversized_decimal_is_dead_lettered_quickly(mapper: FineractMapper) -> None:
    raw = _deposit(b"\x7f" + b"\xff" * 60_000)  # about 145,000 decimal digits
    started = time.process_time()
    with pytest.raises(MalformedRecord) as info:
        mapper.map(decode_message(raw))
    assert time.process_time() - started < 0.5
    assert info.value.reason.startswith("bad_amount: amount"), info.value.reason


def test_in_range_raw_decimal_still_maps(mapper: FineractMapper) -> None:
    raw = _deposit((12_345_000_000).to_bytes(8, "big", signed=True))  # 123.45 at scale 8
    [event] = mapper.map(decode_message(raw)).events
    assert event.payload.amount == Decimal("123.45")
