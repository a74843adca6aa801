"""Control characters are refused in every text field of the contracts, with a clear error."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from churnwatch_shared.alerts import Alert
from churnwatch_shared.customer_state import CustomerStateSnapshot
from churnwatch_shared.events import parse_event, parse_event_obj
from churnwatch_shared.text import LABEL_ACCEPTED, TEXT_ACCEPTED, Label, Text

# Every C0 control, DEL and every C1 control.
CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]
LINE_BREAKS = ["\t", "\n", "\r"]


class Sample(BaseModel):
    label: Label = "x"
    text: Text = "x"


def _only_error(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, object]:
    errors = exc.value.errors(include_url=False)
    assert len(errors) == 1, errors
    return dict(errors[0])


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_label_refuses_every_control_character(char: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Sample(label=f"fees{char}x")
    error = _only_error(exc)
    assert error["type"] == "control_character"
    assert error["loc"] == ("label",)
    assert f"U+{ord(char):04X} at position 4" in str(error["msg"])
    assert LABEL_ACCEPTED in str(error["msg"])


@pytest.mark.parametrize("char", sorted(set(CONTROLS) - set(LINE_BREAKS)), ids=ord)
def test_text_refuses_controls_other_than_tab_and_line_breaks(char: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Sample(text=f"a{char}")
    error = _only_error(exc)
    assert error["loc"] == ("text",)
    assert TEXT_ACCEPTED in str(error["msg"])


def test_text_allows_tab_and_line_breaks() -> None:
    assert Sample(text="line one\r\n\tline two").text == "line one\r\n\tline two"


def test_unpaired_surrogate_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        Sample(label="a\ud800")
    assert "unpaired surrogate U+D800 at position 1" in str(_only_error(exc)["msg"])


@given(st.text(st.characters(exclude_categories=("Cc", "Cs"))))
def test_printable_unicode_passes_both_types_unchanged(value: str) -> None:
    sample = Sample(label=value, text=value)
    assert (sample.label, sample.text) == (value, value)


@given(st.text(), st.sampled_from(CONTROLS), st.text())
def test_any_string_holding_a_control_is_refused_as_a_label(
    before: str, char: str, after: str
) -> None:
    with pytest.raises(ValidationError):
        Sample(label=before + char + after)


# --- the contracts use the type ------------------------------------------------------------


def _event(event_type: str, payload: dict[str, object]) -> dict[str, object]:
    return {
        "event_id": "ev-1",
        "event_type": event_type,
        "occurred_at": "2026-11-20T09:30:00+08:00",
        "customer_id": "C1",
        "account_id": "A-1",
        "payload": payload,
    }


@pytest.mark.parametrize(
    ("event_type", "payload", "field"),
    [
        ("complaint.filed", {"complaint_id": "K1", "category": "fees\u0000x"}, "category"),
        (
            "customer.profile",
            {"segment": "retail", "tier": "gold", "branch_id": "B1", "display_name": "A\u0085B"},
            "display_name",
        ),
        ("payment.bounced", {"amount": "1.00", "currency": "CNY", "reason": "x\u0000"}, "reason"),
        ("account.closed", {"product_kind": "demand", "reason": "moved\u001b[2J"}, "reason"),
        ("product.cancelled", {"product": "fund", "reason": "\u007f"}, "reason"),
    ],
)
def test_events_refuse_controls_in_text_fields(
    event_type: str, payload: dict[str, object], field: str
) -> None:
    body = orjson.dumps(_event(event_type, payload))
    with pytest.raises(ValidationError) as exc:
        parse_event(body)
    error = _only_error(exc)
    assert error["loc"] == (event_type, "payload", field)
    assert error["type"] == "control_character"


def test_event_reasons_may_span_lines() -> None:
    event = parse_event_obj(
        _event("payment.bounced", {"amount": "1.00", "currency": "CNY", "reason": "a\nb"})
    )
    assert event.payload.reason == "a\nb"  # type: ignore[union-attr]


def _alert(**changes: object) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    alert: dict[str, object] = {
        "alert_id": "al_0123456789",
        "kind": "anomaly",
        "customer_id": "C1",
        "state": "stability",
        "rule_id": "stability.complaint_filed",
        "severity": "warning",
        "priority": 50,
        "title": "Complaint filed (fees)",
        "reasons": [{"code": "complaint_filed", "state": "stability", "text": "about fees"}],
        "ruleset_version": "1",
        "occurred_at": now,
        "detected_at": now,
    }
    alert.update(changes)
    return alert


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"title": "Complaint filed (fees\u0000x)"}, ("title",)),
        ({"customer_id": "C\u00001"}, ("customer_id",)),
        ({"branch_id": "B\t1"}, ("branch_id",)),
        ({"evidence_event_ids": ["ok", "e\u0000"]}, ("evidence_event_ids", 1)),
        (
            {"reasons": [{"code": "c", "state": "risk", "text": "about fees\u0000x"}]},
            ("reasons", 0, "text"),
        ),
        ({"observed": "1\u00002"}, ("observed",)),
    ],
)
def test_alert_refuses_controls(changes: dict[str, object], loc: tuple[object, ...]) -> None:
    with pytest.raises(ValidationError) as exc:
        Alert.model_validate_json(orjson.dumps(_alert(**changes)))
    locs = [e["loc"] for e in exc.value.errors() if e["type"] == "control_character"]
    # a union (float | text) adds the member's name after the field: only the field matters
    assert [found[: len(loc)] for found in locs] == [loc]


def test_alert_reason_text_may_span_lines() -> None:
    reasons = [{"code": "c", "state": "risk", "text": "one\ntwo"}]
    assert Alert.model_validate(_alert(reasons=reasons)).reasons[0].text == "one\ntwo"


def test_snapshot_refuses_controls_in_metric_text() -> None:
    snapshot = {
        "customer_id": "C1",
        "as_of": datetime.now(UTC).isoformat(),
        "churn_score": 1.0,
        "churn_level": "normal",
        "ruleset_version": "1",
        "events_applied": 1,
        "states": {"risk": {"metrics": {"note": "a\u0000"}}},
    }
    with pytest.raises(ValidationError) as exc:
        CustomerStateSnapshot.model_validate_json(orjson.dumps(snapshot))
    assert any(e["type"] == "control_character" for e in exc.value.errors())
