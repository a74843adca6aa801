"""The per-customer state record (five states in one compact row): its fields, stored form and
derived values. How each event changes it is ``state_apply``.

One record per customer is the value of the ``customer-state`` table: it is written at most once per
event, so it stays small (at most 1 KiB: schema 8, ``state_codec``). Money is held in integer minor
units (cents); baselines (EWMA mean/variance) are floats because they are statistics, not ledger
amounts.

Windows are by event time (``occurred_at``): account flow and activity are summed in 7-day buckets
aligned to the Unix epoch; "7d" is the bucket of the customer's newest event, "30d" the newest five
buckets (29-35 days). Six buckets are kept so a sustained decline can be judged over two overlapping
four-week windows. Out-of-order events within the rule set's lateness land in their own bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Final

import orjson

from churnwatch_shared.events import LoanClassification, Product
from churnwatch_state_monitor.engine import state_codec, state_fields
from churnwatch_state_monitor.engine.buckets import (
    DAY,
    NINETY_DAYS,
    WEEK,
    closed_weeks,
    month_totals,
    window_sum,
)
from churnwatch_state_monitor.engine.facts import (
    FINGERPRINT_CHARS,
    cents,
    event_fingerprint,
)
from churnwatch_state_monitor.engine.state_schema import (
    SCHEMA_1,
    SCHEMA_2,
    SCHEMA_3,
    SCHEMA_4,
    SCHEMA_4_COOLDOWN_ORDER,
    SCHEMA_5,
    SCHEMA_6,
    SCHEMA_7,
    SCHEMA_8,
    SCHEMA_9,
    STATE_SCHEMA,
    Layout,
    upgrade,
)

# re-exported: moved to ``buckets`` and ``facts``
# re-exported: the schema versions moved to ``state_schema``
__all__ = [
    "DAY",
    "SCHEMA_1",
    "SCHEMA_2",
    "SCHEMA_3",
    "SCHEMA_4",
    "SCHEMA_4_COOLDOWN_ORDER",
    "SCHEMA_5",
    "SCHEMA_6",
    "SCHEMA_7",
    "SCHEMA_8",
    "SCHEMA_9",
    "STATE_SCHEMA",
    "WEEK",
    "CustomerState",
    "cents",
    "event_fingerprint",
]

# A payroll credit sooner than this after the previous one is a bonus or correction, not the
# monthly cycle: it neither moves the expected payday nor shortens the expected gap.
PAYROLL_MIN_GAP_DAYS: Final = 20
RECENT_CAP: Final = 8  # timestamps kept for 90-day counts (cancellations, complaints, bounces)
YEAR: Final = 365 * DAY
RISK_STAMPS: Final = 4  # overdraft episodes and penalty postings kept (the newest)
MONTH: Final = 30 * DAY  # engagement periods: 30 days aligned to the epoch (no calendar per event)
MONTHS: Final = 13  # periods kept: this one and the twelve before (inactive months in 12, QoQ, YoY)
CONTACTS_KEPT: Final = 4  # contacts remembered: the score counts up to four

PRODUCT_BIT: dict[str, int] = {p.value: 1 << i for i, p in enumerate(Product)}
CLASS_RANK: dict[str, int] = {c.value: i for i, c in enumerate(LoanClassification)}
KACCT_CHARS: Final = 64  # card account ids kept (a few cards; the record stays small)


@dataclass(slots=True)
class CustomerState:
    """Everything the monitor remembers about one customer, in one table row."""

    v: int = STATE_SCHEMA
    newest: int = 0  # newest applied occurred_at (epoch s)
    events: int = 0
    seen: str = ""  # fingerprints of recent event ids, oldest first (8 characters each)
    # profile (tier drives the critical band and priority)
    tier: str | None = None
    segment: str | None = None
    branch: str | None = None
    since: int | None = None  # relationship start (epoch s)
    # scale (cents)
    demand: int = 0
    time_dep: int = 0
    loans: int = 0
    invest: int = 0
    liquid: int | None = None  # last known balance of the transacting account(s)
    adb30: float = 0.0  # time-weighted average daily balance, ~30 and ~90 days
    adb90: float = 0.0
    adb_at: int = 0
    assets_base: float = 0.0  # EWMA of financial assets at snapshots
    peak_assets: int = 0
    # stability: weekly customer-initiated activity baseline
    act_mean: float = 0.0
    act_var: float = 0.0
    card_mean: float = 0.0
    online_mean: float = 0.0
    weeks: int = 0  # weeks folded into the baselines
    folded: int = -1  # newest week index folded
    last_act: int = 0  # last customer-initiated activity (epoch s)
    time_shift: int = 0  # cents moved from demand into time deposits in the newest snapshot
    # risk
    dpd: int = 0
    overdue: int = 0
    penalty: int = 0
    worst_class: int = 0
    bounces: tuple[int, ...] = ()  # 90-day stamps (tuples: most are empty, and () is shared)
    # account flow
    flow: list[list[int]] = field(default_factory=list)
    payroll_last: int = 0
    payroll_seen: int = 0
    payroll_gap: float = 0.0  # EWMA days between payroll credits
    # product usage
    products: int = 0  # bitmask over Product
    accounts: int = 0
    cancels: tuple[int, ...] = ()
    complaints: tuple[int, ...] = ()
    open_complaints: int = 0
    # alerting memory: cooldown code (rules.COOLDOWN_CODE) -> [epoch s of last alert, severity rank]
    cool: dict[str, list[int]] = field(default_factory=dict)
    churn: float = 0.0
    level: int = 0  # 0 normal, 1 watch, 2 warning, 3 critical
    # offset of the newest applied source record (the customer's partition never changes):
    # a record at or below it is a redelivery after a crash or rebalance, whatever the dedup window
    off: int = -1
    # tier band the customer was last judged in: 0 at/above threshold, 1 critical band, 2 below
    band: int = 0
    fading: int = 0  # week a sustained activity decline was first seen (0: none now)
    # account model and overdraft (issue 15): card accounts ("|<account id>|" each) are credit
    # lines, their postings usage; overdraft limits of demand accounts (cents, from snapshots)
    kacct: str = ""
    od_limit: int = 0
    overdrawn: int = 0  # since when (epoch s) the funds balance is negative (0: not overdrawn)
    # overdraft episodes begun and penalty interest postings (stamps, 365 days: credit risk
    # has a longer memory than a 90-day count)
    ods: tuple[int, ...] = ()
    pens: tuple[int, ...] = ()
    pen_od: int = 0  # penalty interest charged (cents) since the postings began (90-day gaps)
    # payees of debits to other banks whose kind is unknown, one integer each (``_recurring``)
    payees: list[int] = field(default_factory=list)
    nofx: int = 0  # amounts left out of sums: their currency had no FX rate
    # engagement (issue 15, schema 7): customer-initiated transactions and amounts (whole units)
    # per 30-day period, oldest first, ending at ``mon`` (the newest period) and beginning at the
    # first activity's period: at most ``MONTHS`` long (periods before the first activity are all
    # zero, so they are not stored: a record of a newer customer stays smaller)
    mon: int = 0
    mfirst: int = 0  # the period of the first customer-initiated activity
    mtx: list[int] = field(default_factory=list)
    mamt: list[int] = field(default_factory=list)
    contacts: tuple[int, ...] = ()  # customer-initiated contacts with the bank (90-day stamps)
    card_limit: int = 0  # credit card limit (cents) and what is owed on the card (revolving)
    card_owed: int = 0
    scored: int = 0  # event time the score was last refreshed by the silence tick (0: never)
    # the open churn-risk episode's newest alert: its time (epoch s) x 4 + its level (0: none);
    # the alert id is derived from it (``churn.churn_key``), 11 digits instead of a 35-char id
    churn_alert: int = 0
    # the funds balance's low-water mark (whole units; schema 9, risk): falls at once to a new
    # low and recovers toward the balance held since at 1/90 a day, so it follows the buffer the
    # account typically falls to before income arrives, with a quarter's memory (set with
    # ``liquid``; ``overdraft.buffer_points``)
    low: int = 0

    def field_values(self) -> tuple[Any, ...]:
        """The fields in order: ``encode``'s array (compiled, far cheaper than an attrgetter)."""
        return (
            self.v,
            self.newest,
            self.events,
            self.seen,
            self.tier,
            self.segment,
            self.branch,
            self.since,
            self.demand,
            self.time_dep,
            self.loans,
            self.invest,
            self.liquid,
            self.adb30,
            self.adb90,
            self.adb_at,
            self.assets_base,
            self.peak_assets,
            self.act_mean,
            self.act_var,
            self.card_mean,
            self.online_mean,
            self.weeks,
            self.folded,
            self.last_act,
            self.time_shift,
            self.dpd,
            self.overdue,
            self.penalty,
            self.worst_class,
            self.bounces,
            self.flow,
            self.payroll_last,
            self.payroll_seen,
            self.payroll_gap,
            self.products,
            self.accounts,
            self.cancels,
            self.complaints,
            self.open_complaints,
            self.cool,
            self.churn,
            self.level,
            self.off,
            self.band,
            self.fading,
            self.kacct,
            self.od_limit,
            self.overdrawn,
            self.ods,
            self.pens,
            self.pen_od,
            self.payees,
            self.nofx,
            self.mon,
            self.mfirst,
            self.mtx,
            self.mamt,
            self.contacts,
            self.card_limit,
            self.card_owed,
            self.scored,
            self.churn_alert,
            self.low,
        )

    def encode(self) -> bytes:
        """The table value bytes: schema 8's compact form (``state_codec``), at most 1 KiB."""
        if self.v == STATE_SCHEMA:  # field by field, the same bytes (``state_fields``)
            return state_fields.encode_state(self)
        return state_codec.encode(self.field_values(), _KINDS)

    @classmethod
    def decode(cls, raw: bytes) -> CustomerState:
        """Rebuild a record from table value bytes (older schema versions get new defaults)."""
        if raw[0] == state_codec.JSON_OPEN:  # schema 1-7: a positional JSON array
            values = orjson.loads(raw)
            upgrade(values, layout=_LAYOUT)
            for i in _STAMP_INDEXES:  # JSON arrays to tuples (most are empty: the shared ())
                values[i] = tuple(values[i])
        elif raw[0] == STATE_SCHEMA:
            values = state_codec.decode(raw, _KINDS)
        elif raw[0] == SCHEMA_8:  # the same bytes without the fields schema 9 appended
            values = state_codec.decode(raw, _KINDS[:_SCHEMA_8_FIELDS])
            upgrade(values, layout=_LAYOUT)
        else:
            raise ValueError(f"state record of unknown schema {raw[0]!r} (known: 1-{STATE_SCHEMA})")
        return cls(*values)

    # --- derived values ---------------------------------------------------------------------

    @property
    def assets(self) -> int:
        """Financial assets held with the bank: deposits plus investments (cents)."""
        return self.demand + self.time_dep + self.invest

    def window(self, *, column: int, buckets: int) -> int:
        """Sum of one bucket column over the newest ``buckets`` weeks."""
        return window_sum(self.flow, column, buckets)

    def month_flow(self) -> tuple[int, int, int, int, int]:
        """The 30-day window: see ``buckets.month_totals``."""
        return month_totals(self.flow)

    def closed_weeks(self, *, alpha: float) -> tuple[float, list[int]] | None:
        """The five newest closed weeks and the baseline before them: see ``buckets.closed_weeks``."""
        if self.weeks < 5:
            return None
        return closed_weeks(self.flow, alpha=alpha, act_mean=self.act_mean, folded=self.folded)

    def recent(self, stamps: tuple[int, ...]) -> int:
        """How many timestamps fall in the 90 days before the newest event."""
        if not stamps:
            return 0
        floor = self.newest - NINETY_DAYS
        return sum(1 for s in stamps if s >= floor)

    def has_seen(self, fingerprint: str) -> bool:
        """Whether ``fingerprint`` is remembered (matched at its own 8 characters only)."""
        seen = self.seen
        i = seen.find(fingerprint)
        while i > 0 and i % FINGERPRINT_CHARS:
            i = seen.find(fingerprint, i + 1)
        return i >= 0

    # --- bookkeeping ------------------------------------------------------------------------

    def remember(self, fingerprint: str, *, cap: int) -> None:
        seen = self.seen + fingerprint
        keep = cap * FINGERPRINT_CHARS
        self.seen = seen if len(seen) <= keep else seen[len(seen) - keep :]

    def within_year(self, stamps: tuple[int, ...]) -> int:
        """How many timestamps fall in the 365 days before the newest event."""
        if not stamps:
            return 0
        floor = self.newest - YEAR
        return sum(1 for s in stamps if s >= floor)


_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(CustomerState))
_STAMP_INDEXES = tuple(
    _FIELD_NAMES.index(name)
    for name in ("bounces", "cancels", "complaints", "contacts", "ods", "pens")
)
_LAYOUT = Layout(names=_FIELD_NAMES, defaults=CustomerState().field_values())
# how schema 8 writes each field (``state_codec``), in stored order
_KIND_OF: dict[str, int] = {
    "seen": state_codec.SEEN,
    "tier": state_codec.OPT_STR,
    "segment": state_codec.OPT_STR,
    "branch": state_codec.OPT_STR,
    "since": state_codec.OPT_INT,
    "liquid": state_codec.OPT_INT,
    "kacct": state_codec.STR,
    "flow": state_codec.FLOW,
    "cool": state_codec.COOL,
    "payees": state_codec.INTS,
    "mtx": state_codec.INTS,
    "mamt": state_codec.INTS,
    **dict.fromkeys(("bounces", "cancels", "complaints", "contacts", "ods", "pens"), state_codec.STAMPS),
    **dict.fromkeys(
        ("adb30", "adb90", "assets_base", "act_mean", "act_var", "card_mean", "online_mean",
         "payroll_gap", "churn"),
        state_codec.FLOAT,
    ),
}  # fmt: skip
_KINDS: tuple[int, ...] = tuple(_KIND_OF.get(name, state_codec.INT) for name in _FIELD_NAMES)
_SCHEMA_8_FIELDS: Final = _FIELD_NAMES.index("churn_alert") + 1  # schema 8 records end there
