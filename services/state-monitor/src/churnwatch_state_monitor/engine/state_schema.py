"""Stored schema versions of the customer-state record and the upgrade of older records.

A schema 1-7 record is a positional JSON array whose first value is its schema version; schema 8
stores the same values as compact bytes (``state_codec``) and decodes without a step. Records of every
earlier version are upgraded on decode, one step at a time (``_UPGRADES``), in place, to the
current field list; tests/state_monitor/test_state_schema.py decodes each of them from records
captured before the change. The field list itself is ``state.CustomerState`` (its order is the
stored order): the steps get the field names and defaults from there, so this module does not
import it.
"""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Callable
from typing import Any, Final

from churnwatch_state_monitor.engine.buckets import ROW_LEN

SCHEMA_1: Final = 1  # the first stored form
SCHEMA_2: Final = 2  # bucket rows gained the interbank debit count; `band` field
SCHEMA_3: Final = 3  # bucket rows gained the largest single interbank debit
SCHEMA_4: Final = 4  # `seen` is one string of base64 fingerprints (was a list of 48-bit integers)
SCHEMA_5: Final = 5  # cooldown memory keyed by stable rule codes (was: the rule's position)
SCHEMA_6: Final = 6  # account model, overdraft, payees, FX (issue 15): fields after `fading`
SCHEMA_7: Final = 7  # engagement by period, contacts, card use, score refresh: after `nofx`
# the same fields and values as schema 7, stored as compact bytes instead of a JSON array
# (``state_codec``): the worst case fits 1 KiB
SCHEMA_8: Final = 8
SCHEMA_9: Final = 9  # the funds balance's low-water mark (risk): `low`, after `churn_alert`
STATE_SCHEMA: Final = SCHEMA_9
# Schema 1-4 keyed cooldowns by the rule's position in the rule list of that time: frozen here as
# the stable codes (``rules.COOLDOWN_CODE``) of those positions, in that order.
SCHEMA_4_COOLDOWN_ORDER: Final = (
    "ibo",
    "ibs",
    "pay",
    "dorm",
    "act",
    "cmp",
    "prd",
    "ovd",
    "cls",
    "band",
    "churn",
    "decl",
)


class Layout:
    """Where the upgrade steps find fields in a record: names and defaults in stored order."""

    __slots__ = ("cool", "defaults", "flow", "liquid", "low", "schema_6_len", "seen")

    def __init__(self, *, names: tuple[str, ...], defaults: tuple[Any, ...]) -> None:
        self.defaults = defaults
        self.flow = names.index("flow")
        self.seen = names.index("seen")
        self.cool = names.index("cool")
        self.liquid = names.index("liquid")
        self.low = names.index("low")
        self.schema_6_len = names.index("nofx") + 1  # schema 6 records end with `nofx`


def _from_1(values: list[Any], layout: Layout) -> None:
    """Schema 1 -> 2: bucket rows gain the interbank debit count (0: not counted then)."""
    for row in values[layout.flow]:
        row.extend([0] * (ROW_LEN - len(row)))


def _from_2(values: list[Any], layout: Layout) -> None:
    """Schema 2 -> 3: the largest single interbank debit is an optional last column (absent:
    unknown), so schema-2 rows are already valid."""


def _from_3(values: list[Any], layout: Layout) -> None:
    """Schema 3 -> 4: the same 48-bit fingerprints, as base64 text instead of integers."""
    values[layout.seen] = "".join(
        b2a_base64(value.to_bytes(6, "big"), newline=False).decode()
        for value in values[layout.seen]
    )


def _from_4(values: list[Any], layout: Layout) -> None:
    """Schema 4 -> 5: cooldown keys from positions ("0".."11") to stable rule codes."""
    cool = values[layout.cool]
    values[layout.cool] = {SCHEMA_4_COOLDOWN_ORDER[int(k)]: v for k, v in cool.items()}


def _from_5(values: list[Any], layout: Layout) -> None:
    """Schema 5 -> 6: the account model's fields appended (no card account known, not
    overdrawn, no payees yet). Every field the record lacks takes its default: records of
    schema 1 ended before `band`."""
    values.extend(layout.defaults[len(values) : layout.schema_6_len])


def _from_6(values: list[Any], layout: Layout) -> None:
    """Schema 6 -> 7: the engagement fields appended (no periods counted yet, no contacts, no
    card use known, never refreshed by a tick, no open churn-risk alert)."""
    values.extend(layout.defaults[len(values) :])


def _from_7(values: list[Any], layout: Layout) -> None:
    """Schema 7 -> 8: no field changes (only the stored form: ``state_codec``)."""


def _from_8(values: list[Any], layout: Layout) -> None:
    """Schema 8 -> 9: the low-water mark appended, starting at the last known balance (whole
    units; 0 when none is known: the first balance sets it)."""
    values.extend(layout.defaults[len(values) :])
    liquid = values[layout.liquid]
    if liquid is not None:
        values[layout.low] = liquid // 100


# version -> the step that brings a record of that version to the next one
_UPGRADES: dict[int, Callable[[list[Any], Layout], None]] = {
    SCHEMA_1: _from_1,
    SCHEMA_2: _from_2,
    SCHEMA_3: _from_3,
    SCHEMA_4: _from_4,
    SCHEMA_5: _from_5,
    SCHEMA_6: _from_6,
    SCHEMA_7: _from_7,
    SCHEMA_8: _from_8,
}


def upgrade(values: list[Any], *, layout: Layout) -> None:
    """Bring a record of an older schema (the same positions) to the current one, in place."""
    version = values[0]
    if version not in _UPGRADES:
        raise ValueError(f"state record of unknown schema {version!r} (known: 1-{STATE_SCHEMA})")
    while version < STATE_SCHEMA:
        _UPGRADES[version](values, layout)
        version += 1
    values[0] = STATE_SCHEMA
