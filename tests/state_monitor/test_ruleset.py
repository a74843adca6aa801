"""The rules file: the packaged one is valid, and mistakes are refused with the field named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from churnwatch_state_monitor.engine.churn import CHURN_SCORE
from churnwatch_state_monitor.engine_config import CATALOG
from churnwatch_state_monitor.ruleset import (
    RuleSetError,
    limits_of,
    load_ruleset,
    packaged_rules_text,
    parse_ruleset,
)


def test_packaged_rules_are_valid_and_name_every_rule() -> None:
    rs = load_ruleset()
    assert rs.version
    assert rs.rules.large_interbank_outflow.min_share == 0.5
    assert rs.version == "2026.12.2"  # bumped with every threshold change
    assert rs.rules.sustained_decline.early_when_winding_down
    assert rs.rules.interbank_outflow_share.pattern_rest_share == 0.35
    assert str(rs.tiers["private_banking"].threshold) == "6000000"
    text = packaged_rules_text()
    for rule_id in limits_of(rs).registry.rule_ids():
        if rule_id != CHURN_SCORE:  # the composite score is configured under `churn`
            assert rule_id in text


def test_threshold_change_needs_no_code(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(packaged_rules_text().replace("min_share: 0.5", "min_share: 0.3"))
    assert load_ruleset(path).rules.large_interbank_outflow.min_share == 0.3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "version: v1\nrules:\n  account_flow.large_interbank_outflow: {min_share: 1.5}\n",
            "rules.account_flow.large_interbank_outflow.min_share",
        ),
        ("version: v1\nrules:\n  account_flow.no_such_rule: {}\n", "account_flow.no_such_rule"),
        ("version: v1\nchurn: {weights: {scale: 0.9}}\n", "weights must sum to 1.0"),
        (
            "version: v1\ntiers: {gold: {threshold: '100', critical_band: '200'}}\n",
            "critical_band must be smaller",
        ),
        ("lateness_hours: 5\n", "version"),
        ("version: v1\nlateness_hours: 500\n", "lateness_hours"),
        ("- just a list\n", "must be a YAML mapping"),
        ("version: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_rules_are_refused_with_the_field_named(text: str, expected: str) -> None:
    with pytest.raises(RuleSetError) as err:
        parse_ruleset(text, source="test.yaml")
    assert expected in str(err.value)
    assert "test.yaml" in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="cannot read rule set"):
        load_ruleset(tmp_path / "absent.yaml")


def test_the_registry_rules_yaml_and_readme_agree() -> None:
    """Every rule the engine runs is in the catalog, configured in rules.yaml (but the composite,
    configured under `churn`), listed in README with its trigger, and has its own cooldown code."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    listed = readme.split("- **Rules** (ids stamped on alerts):", 1)[1].split("\n- ", 1)[0]
    in_readme = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", listed))
    in_yaml = set(yaml.safe_load(packaged_rules_text())["rules"])
    registry = limits_of(load_ruleset()).registry
    engine = set(registry.rule_ids())
    assert engine == {entry.rule_id for entry in CATALOG}
    assert len(set(registry.code_of.values())) == len(engine)
    configured = {entry.rule_id for entry in CATALOG if entry.config is not None}
    assert configured == engine - {CHURN_SCORE}
    assert in_yaml == configured
    assert in_readme == engine
    # README's table says what triggers each rule, as the registry routes it
    table = readme.split("<!-- rule-table -->", 2)[1]
    row = r"^ *\| `([a-z_]+\.[a-z_]+)` \| ([^|]+) \| `([a-z]+)` \|$"
    rows = re.findall(row, table, re.MULTILINE)
    triggers: dict[str, set[str]] = {}
    for trigger, rule_ids in registry.table().items():
        for rule_id in rule_ids:
            triggers.setdefault(rule_id, set()).add(trigger)
    assert {r: set(re.findall(r"`([a-z_.]+)`", t)) for r, t, _ in rows} == triggers
    assert {r: code for r, _, code in rows} == registry.code_of
