"""Stored state records of every earlier schema decode to the state the current code would hold.

``fixtures/state_schema4.ndjson`` was written by the code before schema 5 (commit 390a78d, run
through ``native_digest.stream``): each line holds a customer's stored record, the snapshot bytes
and the silence due time that code derived from it. Schemas 1-3 are made from those records by
undoing each later change (the same shapes the older code wrote).
"""

from __future__ import annotations

import base64
from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson
import pytest

from churnwatch_state_monitor.engine import state_codec
from churnwatch_state_monitor.engine.buckets import B_IB_MAX, B_IB_N
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.overdraft import buffer_points
from churnwatch_state_monitor.engine.silence import refresh_due
from churnwatch_state_monitor.engine.state import (
    _KINDS,
    SCHEMA_1,
    SCHEMA_2,
    SCHEMA_3,
    SCHEMA_4,
    SCHEMA_4_COOLDOWN_ORDER,
    SCHEMA_6,
    SCHEMA_7,
    SCHEMA_8,
    SCHEMA_9,
    STATE_SCHEMA,
    CustomerState,
)
from churnwatch_state_monitor.ruleset import limits_of, load_ruleset

FIXTURE = Path(__file__).with_name("fixtures") / "state_schema4.ndjson"
NAMES = [f.name for f in fields(CustomerState)]


def _at(name: str) -> int:
    return NAMES.index(name)


def _captured() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in FIXTURE.read_bytes().splitlines()]


def _schema3(v4: list[Any]) -> list[Any]:
    old = orjson.loads(orjson.dumps(v4))
    old[0] = SCHEMA_3
    seen = old[_at("seen")]
    old[_at("seen")] = [
        int.from_bytes(base64.b64decode(seen[i : i + 8]), "big") for i in range(0, len(seen), 8)
    ]
    return old


def _schema2(v4: list[Any]) -> list[Any]:
    old = _schema3(v4)
    old[0] = SCHEMA_2
    for row in old[_at("flow")]:
        del row[B_IB_MAX:]  # the largest single interbank debit came with schema 3
    return old


def _schema1(v4: list[Any]) -> list[Any]:
    old = _schema2(v4)
    old[0] = SCHEMA_1
    for row in old[_at("flow")]:
        del row[B_IB_N:]  # the interbank debit count came with schema 2
    del old[_at("band") :]  # and so did `band` (and later `fading`)
    return old


def test_the_fixture_is_schema_4_with_cooldowns_by_position() -> None:
    captured = _captured()
    assert len(captured) == 40
    records = [orjson.loads(c["record"]) for c in captured]
    assert {r[0] for r in records} == {SCHEMA_4}
    assert sum(1 for r in records if r[_at("cool")]) >= 30
    assert all(k.isdigit() for r in records for k in r[_at("cool")])


def test_schema_4_records_decode_to_the_same_snapshot_silence_and_cooldowns() -> None:
    monitor = Monitor(ruleset=load_ruleset())
    limits = limits_of(load_ruleset())
    for captured in _captured():
        raw = captured["record"].encode()
        old = orjson.loads(raw)
        state = CustomerState.decode(raw)
        assert state.v == STATE_SCHEMA == SCHEMA_9
        customer = captured["customer_id"]
        # the snapshot names the rule set running now, not the one the record was captured under
        was = {**orjson.loads(captured["snapshot"]), "ruleset_version": load_ruleset().version}
        snap = orjson.loads(monitor.snapshot_bytes(customer, state))
        # schema 9 (an intended change): the low-water mark starts at the last known balance, and
        # a thin buffer is risk points (``overdraft.buffer_points``) when nothing else is more
        risk, old_risk = snap["states"]["risk"], was["states"]["risk"]
        thin = round(buffer_points(state, limits.thin_buffer), 1)
        assert risk["score"] == max(old_risk["score"], thin)
        risk["score"], risk["level"] = old_risk["score"], old_risk["level"]
        assert _only_metrics_of(snap, was) == was
        # the silence rules are due as before; the weekly score refresh (issue 15 cause 5, an
        # intended change) may come first
        due = captured["silence_due"]
        refresh = refresh_due(state, limits)
        assert monitor.silence_due(state) == (refresh if due is None else min(due, refresh))
        assert state.cool == {
            SCHEMA_4_COOLDOWN_ORDER[int(position)]: memory
            for position, memory in old[_at("cool")].items()
        }
        # the fields the schema-4 record had (the later ones take their defaults)
        unchanged = [n for n in NAMES[: len(old)] if n not in ("v", "cool")]
        assert [getattr(state, n) for n in unchanged] == [
            tuple(old[_at(n)]) if n in ("bounces", "cancels", "complaints") else old[_at(n)]
            for n in unchanged
        ]
        assert CustomerState.decode(state.encode()) == state


@pytest.mark.parametrize("older", [_schema3, _schema2, _schema1])
def test_every_earlier_schema_decodes_like_the_schema_4_record_it_came_from(older) -> None:
    for captured in _captured():
        v4 = orjson.loads(captured["record"])
        expected = CustomerState.decode(orjson.dumps(v4))
        if older in (_schema2, _schema1):  # those columns did not exist: they start empty
            expected.flow = [row[:B_IB_MAX] for row in expected.flow]
        if older is _schema1:
            expected.flow = [[*row[:B_IB_N], 0] for row in expected.flow]
            expected.band, expected.fading = 0, 0
        assert CustomerState.decode(orjson.dumps(older(v4))) == expected


def test_a_record_of_an_unknown_schema_is_refused_with_its_version() -> None:
    record = orjson.loads(_captured()[0]["record"])
    record[0] = 0
    with pytest.raises(ValueError, match="unknown schema 0"):
        CustomerState.decode(orjson.dumps(record))


# The rules of schema 4's time, in the order that keyed their cooldowns: frozen history.
SCHEMA_4_RULES = (
    "account_flow.large_interbank_outflow",
    "account_flow.interbank_outflow_share",
    "account_flow.payroll_missing",
    "stability.dormancy",
    "stability.activity_drop",
    "stability.complaint_filed",
    "product_usage.product_cancelled",
    "risk.loan_overdue",
    "risk.classification_downgrade",
    "scale.tier_critical_band",
    "churn.composite_score",
    "stability.sustained_decline",
)


def test_cooldown_codes_are_stable_unique_and_cover_every_rule() -> None:
    codes = limits_of(load_ruleset()).registry.code_of
    assert len(set(codes.values())) == len(codes)
    # schema 4 keyed by position in the rule list of its time; each of those rules keeps the
    # code that position was upgraded to
    assert [codes[r] for r in SCHEMA_4_RULES] == list(SCHEMA_4_COOLDOWN_ORDER)


def _only_metrics_of(snap: dict, was: dict) -> dict:
    """``snap`` without the metrics added since ``was`` was captured (schema 6: currency,
    overdraft, engagement): every metric of the old snapshot must be unchanged."""
    for name, view in snap["states"].items():
        old = was["states"][name]["metrics"]
        view["metrics"] = {k: v for k, v in view["metrics"].items() if k in old}
    return snap


def test_a_schema_6_record_gains_the_engagement_fields_with_their_defaults() -> None:
    # schema 6 (commit 132142f) ended with `nofx`: its records decode with the fields after it
    # at their defaults, and the fields it had unchanged
    state = CustomerState(v=SCHEMA_6, newest=1_700_000_000, events=3, kacct="|k1|", nofx=2)
    old = list(state.field_values())[: _at("nofx") + 1]  # schema 6 was a JSON array
    decoded = CustomerState.decode(orjson.dumps(old))
    assert decoded.v == STATE_SCHEMA
    assert (decoded.newest, decoded.events, decoded.kacct, decoded.nofx) == (
        1_700_000_000,
        3,
        "|k1|",
        2,
    )
    assert (decoded.mtx, decoded.contacts, decoded.scored, decoded.churn_alert) == ([], (), 0, 0)


def test_a_schema_7_json_record_decodes_to_the_same_state_and_is_stored_compact() -> None:
    # schema 7 wrote ``orjson.dumps(field_values())``; schema 8 the same values as bytes
    # (``state_codec``): every captured customer, aged to schema 7, decodes to the same state
    for captured in _captured():
        state = CustomerState.decode(captured["record"].encode())
        v7 = list(state.field_values())
        v7[0] = SCHEMA_7
        from_7 = CustomerState.decode(orjson.dumps(v7))
        assert from_7 == state and from_7.v == SCHEMA_9
        raw = from_7.encode()
        assert raw[0] == SCHEMA_9 and len(raw) < len(orjson.dumps(v7)) * 2 // 3
        assert CustomerState.decode(raw) == state


def test_a_schema_8_record_gains_the_low_water_mark_at_its_last_balance() -> None:
    # schema 8 wrote the same bytes (``state_codec``, unchanged) for the fields up to
    # `churn_alert`; schema 9 appends `low`, which starts at the last known balance (whole units)
    n = _at("churn_alert") + 1
    with_balance = 0
    for captured in _captured():
        state = CustomerState.decode(captured["record"].encode())
        v8 = list(state.field_values())[:n]
        v8[0] = SCHEMA_8
        raw8 = state_codec.encode(tuple(v8), _KINDS[:n])
        decoded = CustomerState.decode(raw8)
        assert decoded.v == SCHEMA_9
        expected = 0 if state.liquid is None else state.liquid // 100
        assert decoded.low == expected
        assert [getattr(decoded, f) for f in NAMES[1:n]] == [getattr(state, f) for f in NAMES[1:n]]
        with_balance += state.liquid is not None
        assert CustomerState.decode(decoded.encode()) == decoded
    assert with_balance >= 30


def test_schema_9_bytes_of_an_unknown_version_or_cut_short_are_refused() -> None:
    raw = CustomerState.decode(_captured()[0]["record"].encode()).encode()
    with pytest.raises(ValueError, match="unknown schema 10"):
        CustomerState.decode(bytes([10]) + raw[1:])
    with pytest.raises(ValueError, match="after its last field"):
        CustomerState.decode(raw + b"\x00")
    with pytest.raises((ValueError, IndexError)):
        CustomerState.decode(raw[:-9])
