"""The rule table: a new rule registers through the catalog alone, and bad tables are refused.

The sample rule below is written the way a real one is (an engine rule object with its
thresholds, a pydantic config model, a catalog entry) but lives only in this file and in a
rules.yaml copy made here: adding a rule needs its state's modules, rules.yaml and README.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field

from churnwatch_shared.alerts import CustomerStateName, Severity
from churnwatch_shared.events import EventType
from churnwatch_state_monitor.engine import stability
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.registry import Registry
from churnwatch_state_monitor.engine.rules import Context, Finding, Rule
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.engine_config import CATALOG
from churnwatch_state_monitor.engine_config.base import RuleConfig, RuleEntry
from churnwatch_state_monitor.ruleset import (
    RuleSetError,
    limits_of,
    load_ruleset,
    packaged_rules_text,
)
from tests.state_monitor.events import at, raw
from tests.state_monitor.test_engine import C, Feed

SAMPLE = "product_usage.products_given_up"


class ProductsGivenUp(Rule):
    """Sample: a cancellation that leaves the customer with at most ``max_left`` products."""

    def __init__(self, *, enabled: bool, severity: Severity, max_left: int) -> None:
        super().__init__(
            rule_id=SAMPLE,
            code="t_gvn",
            state=CustomerStateName.PRODUCT_USAGE,
            on=(EventType.PRODUCT_CANCELLED.value,),
            enabled=enabled,
            severity=severity,
        )
        self.max_left = max_left

    def judge(self, st: CustomerState, cx: Context) -> Finding | None:
        left = st.products.bit_count()
        if not self.enabled or left > self.max_left:
            return None
        return Finding(
            rule_id=SAMPLE,
            state=self.state,
            severity=self.severity,
            title=f"{left} product(s) left",
            condition_key=cx.event_id,
            code="products_given_up",
            text=f"{left} product(s) left after cancelling {cx.ev.payload.product}",
            observed=left,
            baseline=self.max_left,
            evidence=[cx.event_id],
        )


class ProductsGivenUpConfig(RuleConfig):
    max_left: Annotated[int, Field(ge=0, le=10)] = 1


def _build(cfg: ProductsGivenUpConfig, rs: Any) -> ProductsGivenUp:
    return ProductsGivenUp(enabled=cfg.enabled, severity=cfg.severity, max_left=cfg.max_left)


WITH_SAMPLE = (*CATALOG, RuleEntry(SAMPLE, ProductsGivenUpConfig, _build))


def _rules_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(packaged_rules_text().replace("\nrules:\n", f"\nrules:\n{body}", 1))
    return path


def test_a_rule_registered_through_the_catalog_runs_with_its_rules_file_thresholds(
    tmp_path: Path,
) -> None:
    body = f"  {SAMPLE}:\n    severity: critical\n    max_left: 1\n"
    rs = load_ruleset(_rules_file(tmp_path, body), catalog=WITH_SAMPLE)
    registry = limits_of(rs).registry
    assert registry.table()[EventType.PRODUCT_CANCELLED.value] == (
        "product_usage.product_cancelled",
        SAMPLE,
    )
    feed = Feed(Monitor(ruleset=rs))
    for i, product in enumerate(("fund", "insurance", "credit_card")):
        feed.send(raw(f"p{i}", C, at(i), "product.subscribed", {"product": product}))
    feed.send(raw("c1", C, at(5), "product.cancelled", {"product": "fund"}))
    assert SAMPLE not in feed.rule_ids()  # two products left: above max_left
    out = feed.send(raw("c2", C, at(6), "product.cancelled", {"product": "insurance"}))
    [alert] = [a for a in out.alerts if a.rule_id == SAMPLE]
    assert (alert.severity, alert.observed, alert.baseline) == (Severity.CRITICAL, 1, 1)
    assert alert.state is CustomerStateName.PRODUCT_USAGE
    assert feed.state is not None and "t_gvn" in feed.state.cool  # cooldown under its code
    # the packaged catalog refuses the key: a rule exists only once registered
    with pytest.raises(RuleSetError, match=SAMPLE):
        load_ruleset(_rules_file(tmp_path, body))


def test_the_sample_rule_config_is_validated_like_any_other(tmp_path: Path) -> None:
    body = f"  {SAMPLE}:\n    max_left: 11\n"
    with pytest.raises(RuleSetError, match=f"rules.{SAMPLE}.max_left"):
        load_ruleset(_rules_file(tmp_path, body), catalog=WITH_SAMPLE)


def test_the_registry_routes_every_event_type_with_one_lookup() -> None:
    registry = limits_of(load_ruleset()).registry
    table = registry.table()
    assert table["transaction.posted"] == (
        "account_flow.large_interbank_outflow",
        "account_flow.interbank_outflow_share",
    )
    assert table["week.closed"] == ("stability.sustained_decline", "stability.activity_drop")
    assert table["silence"] == ("stability.dormancy", "account_flow.payroll_missing")
    assert table["churn.level_rise"] == ("churn.composite_score",)
    assert registry.routes["complaint.resolved"].rules == ()  # an update without a rule
    assert registry.routes["contact.logged"].rules == ()  # customer-initiated contacts counted
    for counted_only in ("standing_order.created", "standing_order.cancelled"):
        assert counted_only not in registry.routes  # counted as an event, nothing else


def test_an_event_type_without_a_route_is_accepted_and_only_counted() -> None:
    feed = Feed()
    feed.send(raw("p1", C, at(0), "product.subscribed", {"product": "fund"}))
    before = feed.state.encode() if feed.state else b""
    out = feed.send(raw("k1", C, at(1), "contact.logged", {"manager_id": "M1", "kind": "call"}))
    order = {"standing_order_id": "SO1", "amount": "100.00", "currency": "CNY"}
    feed.send(raw("o1", C, at(2), "standing_order.created", order))
    feed.send(raw("o2", C, at(3), "standing_order.cancelled", {"standing_order_id": "SO1"}))
    assert out.alerts == [] and feed.state is not None and feed.state.events == 4
    assert feed.state.encode() != before  # the event count and its id, nothing else


def _rule(rule_id: str, code: str, on: tuple[str, ...]) -> Rule:
    return Rule(
        rule_id=rule_id,
        code=code,
        state=CustomerStateName.STABILITY,
        on=on,
        enabled=True,
        severity=Severity.WATCH,
    )


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            (_rule("a.one", "x", ("silence",)), _rule("a.two", "x", ("silence",))),
            "cooldown code 'x' is already a.one's",
        ),
        ((_rule("a.one", "x", ("silence",)), _rule("a.one", "y", ("silence",))), "twice"),
        ((_rule("a.one", "x", ("transaction.postd",)),), "unknown trigger 'transaction.postd'"),
        ((_rule("a.one", "x", ()),), "names no trigger"),
    ],
)
def test_a_bad_table_is_refused_at_start_up(rules: tuple[Rule, ...], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        Registry(rules)


def test_the_thresholds_come_from_the_validated_config(tmp_path: Path) -> None:
    text = packaged_rules_text().replace("dormant_days: 60", "dormant_days: 45")
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    dormancy = limits_of(load_ruleset(path)).registry.by_id[stability.DORMANCY]
    assert isinstance(dormancy, stability.Dormancy)
    assert (dormancy.dormant_days, dormancy.dormant) == (45, 45 * 86400)
