"""Issue 14 items 3 and 12: camt amounts checked as text, versions 02-13, dates, ids, no entries."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from churnwatch_ingest.adapters.iso20022.mapping import MappingResult, map_camt
from churnwatch_ingest.adapters.iso20022.parse import SUPPORTED_VERSIONS, CamtError, parse_camt
from tests.ingest_adapters import builders as b

OWN = frozenset({"OWNBCNSHXXX"})
OWNERS = {"CN0012345678": "cust-1", "CN0099999999": "cust-2"}
RECEIVED = datetime(2030, 1, 1, tzinfo=UTC)  # an ingest clock far from the message's own times


def _map(xml: bytes, kind: str = "camt.053") -> MappingResult:
    message = parse_camt(xml, expected=kind)  # type: ignore[arg-type]
    return map_camt(
        message, owner_of=OWNERS.get, own_bics=OWN, producer="bank-a", received_at=RECEIVED
    )


@pytest.mark.parametrize("amount", ["1E+100000000", "1e5", "-5.00", "+5", "1,00", "NaN", "Infinity",
                                    "12345678901234567.00", "1.00001", " ", "0x10"])  # fmt: skip
def test_amount_refused_as_text_naming_entry_and_accepted_form(amount: str) -> None:
    xml = b.camt(kind="camt.054", version="08", entries=[
        b.camt_entry(version="08", amount="1.00", cd="CRDT", ref="ok"),
        b.camt_entry(version="08", amount=amount, cd="CRDT", ref="bad")])  # fmt: skip
    result = _map(xml, "camt.054")
    assert [o.outcome for o in result.outcomes] == ["accepted", "rejected"]
    reason = result.outcomes[1].reason or ""
    assert result.outcomes[1].item == "Ntry[1]"
    assert "16 integer digits" in reason and "4 decimals" in reason, reason


def test_amount_trailing_zeros_beyond_four_decimals_are_accepted() -> None:
    xml = b.camt(kind="camt.054", version="08", entries=[
        b.camt_entry(version="08", amount="0012.50000", cd="CRDT")])  # fmt: skip
    [event] = _map(xml, "camt.054").events
    assert str(event.payload.amount) == "12.5"


def test_forty_huge_exponents_are_refused_quickly() -> None:
    entries = [b.camt_entry(version="08", amount="1E+100000000", cd="CRDT", ref=f"R{i}")
               for i in range(40)]  # fmt: skip
    xml = b.camt(kind="camt.054", version="08", entries=entries)
    started = time.process_time()
    result = _map(xml, "camt.054")
    assert time.process_time() - started < 0.5
    assert [o.outcome for o in result.outcomes] == ["rejected"] * 40 and not result.events


def test_huge_closing_balance_is_refused() -> None:
    xml = b.camt(kind="camt.053", version="04", entries=[], closing=("9E+99999999", "CRDT"))
    started = time.process_time()
    result = _map(xml)
    assert time.process_time() - started < 0.5
    assert result.outcomes[0].outcome == "rejected"
    assert "Bal" in result.outcomes[0].item and "4 decimals" in (result.outcomes[0].reason or "")


@pytest.mark.parametrize("version", [f"{n:02d}" for n in range(2, 14)])
@pytest.mark.parametrize("kind", ["camt.053", "camt.054"])
def test_every_version_02_to_13_is_read(kind: str, version: str) -> None:
    assert version in SUPPORTED_VERSIONS
    entry = b.camt_entry(version=version, amount="7.00", cd="DBIT", agent_bic="OTHRCNBJXXX")
    result = _map(b.camt(kind=kind, version=version, entries=[entry]), kind)
    assert [o.outcome for o in result.outcomes] == ["accepted"], result.outcomes
    assert result.events[0].payload.counterparty_is_own_bank is False


def test_version_outside_the_range_is_refused_naming_the_range() -> None:
    xml = b.camt(kind="camt.053", version="14", entries=[])
    with pytest.raises(CamtError) as info:
        parse_camt(xml, expected="camt.053")
    assert info.value.status == 422 and "camt.053.001.02" in info.value.message
    assert "camt.053.001.13" in info.value.message


def _undated(xml: bytes) -> bytes:
    return (xml.replace(b"<BookgDt><Dt>2025-03-01</Dt></BookgDt>", b"")
            .replace(b"<ValDt><Dt>2025-03-01</Dt></ValDt>", b""))  # fmt: skip


def test_undated_entry_takes_the_statement_then_message_creation_time() -> None:
    entry = b.camt_entry(version="08", amount="3.00", cd="CRDT")
    xml = _undated(b.camt(kind="camt.053", version="08", entries=[entry], day="2025-03-02"))
    [event] = _map(xml).events  # GrpHdr/CreDtTm 2025-03-02T18:00:00 (no offset: UTC)
    assert event.occurred_at == datetime(2025, 3, 2, 18, 0, tzinfo=UTC)
    with_stmt_time = xml.replace(
        b"<Id>S1</Id>", b"<Id>S1</Id><CreDtTm>2025-03-02T09:30:00+01:00</CreDtTm>"
    )
    [event] = _map(with_stmt_time).events
    assert event.occurred_at == datetime(2025, 3, 2, 8, 30, tzinfo=UTC)


def test_undated_closing_balance_takes_the_message_creation_date() -> None:
    xml = b.camt(
        kind="camt.053", version="08", entries=[], closing=("5.00", "CRDT"), day="2025-03-02"
    )
    xml = xml.replace(b"<Dt><Dt>2025-03-02</Dt></Dt>", b"")
    [event] = _map(xml).events
    assert str(event.payload.as_of) == "2025-03-02"


def _no_ref(xml: bytes) -> bytes:
    return xml.replace(b"<NtryRef>REF1</NtryRef>", b"").replace(
        b"<AcctSvcrRef>REF1</AcctSvcrRef>", b""
    )


def test_unreferenced_entries_of_two_accounts_sharing_a_msgid_get_distinct_stable_ids() -> None:
    entry = b.camt_entry(version="08", amount="3.00", cd="CRDT")
    first = _no_ref(b.camt(kind="camt.053", version="08", entries=[entry], msg_id="DAILY"))
    second = _no_ref(b.camt(kind="camt.053", version="08", entries=[entry], msg_id="DAILY",
                            iban="CN0099999999"))  # fmt: skip
    [a], [b2] = _map(first).events, _map(second).events
    assert a.event_id != b2.event_id
    assert "CN0012345678" in a.event_id and "S1" in a.event_id
    assert [e.event_id for e in _map(first).events] == [a.event_id]  # a resend: the same id


def test_statement_without_entries_or_balances_is_counted_explicitly() -> None:
    message = parse_camt(b.camt(kind="camt.053", version="08", entries=[]), expected="camt.053")
    assert message.entries == [] and message.statements == 1


def test_document_without_any_statement_is_refused() -> None:
    xml = b.camt(kind="camt.053", version="08", entries=[])
    start, end = xml.index(b"<Stmt>"), xml.index(b"</Stmt>") + len(b"</Stmt>")
    with pytest.raises(CamtError) as info:
        parse_camt(xml[:start] + xml[end:], expected="camt.053")
    assert info.value.status == 422 and "Stmt" in info.value.message
