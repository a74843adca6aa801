"""The rule engine's judgement as model features (model/rule_features.py): the value at an as-of
time is the score the engine shows then, judging leaves the state untouched, silence counts, and
a model without these features never pays for them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import pytest

from churnwatch_simulator.realistic import RealisticBank, RealisticConfig
from churnwatch_state_monitor.engine.buckets import DAY
from churnwatch_state_monitor.engine.engagement import clock
from churnwatch_state_monitor.engine.monitor import Monitor
from churnwatch_state_monitor.engine.state import CustomerState
from churnwatch_state_monitor.model import feature_rows, rule_features
from churnwatch_state_monitor.model.artifact import ChurnModel, wording
from churnwatch_state_monitor.model.features import REGISTRY, feature_names, row
from churnwatch_state_monitor.model.replay import load_events, replay_states
from churnwatch_state_monitor.model.rule_features import RULE_FEATURES
from churnwatch_state_monitor.ruleset import load_ruleset

START = datetime(2025, 1, 1, tzinfo=UTC)
NAMES = list(RULE_FEATURES)


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> list[CustomerState]:
    """Every customer's state at the end of a realistic replay (silence refreshes included)."""
    bank = RealisticBank(config=RealisticConfig(customers=200, days=240, seed=21, start=START))
    path = tmp_path_factory.mktemp("rules") / "events.ndjson"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in bank.events()))
    final: dict[str, CustomerState] = {}
    for _, live in replay_states(
        events=load_events(Path(path)).events(), monitor=Monitor(ruleset=load_ruleset(None))
    ):
        final = live
    return [final[c] for c in sorted(final)]


def test_the_rule_features_are_registered_last_with_labels_and_units() -> None:
    names = feature_names()
    assert names[-len(NAMES) :] == NAMES
    assert list(feature_rows.FUSED) == names
    for name in NAMES:
        feature = REGISTRY[name]
        assert feature.label and feature.unit in ("points", "x"), name


def test_at_the_engine_clock_the_churn_feature_is_the_score_the_engine_keeps(
    states: list[CustomerState],
) -> None:
    assert len(states) > 150
    scored = [st for st in states if st.churn > 0]
    assert len(scored) > 50  # not a book of zeros
    for st in states:
        got = row(st, clock(st), ["rule_churn_score"])[0]
        assert got == st.churn, (st.newest, st.scored)


def test_judging_leaves_the_state_as_it_was(states: list[CustomerState]) -> None:
    for st in states[:60]:
        before = st.encode()
        later = clock(st) + 45 * DAY
        row(st, later, feature_names())
        assert st.encode() == before


def test_silence_moves_the_judgement_at_later_as_of_times(states: list[CustomerState]) -> None:
    """Judged 60 days into a silence the customer's own activity has fallen: the engagement
    signals and the churn score rise for most customers, as the engine's refresh would show."""
    rose = fell = 0
    j = NAMES.index("rule_churn_score")
    for st in states:
        now = row(st, clock(st), NAMES)
        later = row(st, clock(st) + 60 * DAY, NAMES)
        rose += later[j] > now[j]
        fell += later[j] < now[j]
    assert rose > len(states) * 0.8, (rose, fell)
    assert fell < len(states) * 0.05, (rose, fell)


def test_a_model_without_rule_features_never_judges(
    states: list[CustomerState], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(st: CustomerState, t: int) -> list[float]:
        raise AssertionError("judged a row that does not use the rule features")

    monkeypatch.setattr(feature_rows, "judge", refuse)
    base = [n for n in feature_names() if n not in RULE_FEATURES]
    st = states[0]
    assert len(row(st, clock(st), base)) == len(base)
    assert feature_rows.matrix(states[:5], clock(st), base).shape == (5, len(base))
    with pytest.raises(AssertionError, match="judged a row"):
        row(st, clock(st), [*base, "rule_risk_score"])


def test_a_rule_feature_reads_as_a_manager_sentence() -> None:
    feature = REGISTRY["rule_stability_score"]
    text = wording(label=feature.label, unit=feature.unit, value=45.0, baseline=None, peers=10.0)
    assert text == "stability state score (dormancy, activity drop): 45 points (peers 10 points)"
    fall = REGISTRY["rule_sustained_fall"]
    text = wording(label=fall.label, unit=fall.unit, value=0.4, baseline=None, peers=0.0)
    assert text.endswith(": 40% (peers 0%)")


def test_the_judgement_is_the_packaged_rule_sets() -> None:
    assert rule_features.ruleset_version() == load_ruleset(None).version
    assert rule_features.limits() is rule_features.limits()


def test_the_rule_judgement_is_in_the_model_but_not_in_a_managers_reasons(
    sim: tuple[Path, Path, object], model_dir: Path
) -> None:
    """Customers whose score the rule features push up among the most get reasons that name
    the measures behind it instead: the rule's own reasons come first in the alert already."""
    model = ChurnModel(model_dir)
    assert set(NAMES) <= set(model.names)
    rules = [model.names.index(n) for n in NAMES]
    items: list[tuple[CustomerState, int]] = []
    history = load_events(sim[0])
    due = history.first + 60 * DAY
    for at, live in replay_states(
        events=history.events(), monitor=Monitor(ruleset=load_ruleset(None))
    ):
        if at > due:  # every customer each 20 days (copies: the live states move on)
            items.extend((CustomerState.decode(st.encode()), due) for st in live.values())
            due += 20 * DAY
    x = model.matrix(items)
    contrib = np.asarray(model.booster.predict(x, pred_contrib=True))[:, :-1]
    top = np.argsort(-contrib, axis=1)[:, :3]
    pushed = [i for i in range(len(items)) if any(j in rules and contrib[i, j] > 0 for j in top[i])]
    assert len(pushed) >= 10  # the rule features do push some customers' scores to the top
    explained = model.explain([items[i] for i in pushed], x=x[pushed], top=3)
    assert sum(1 for why in explained if why) >= 0.9 * len(pushed)
    assert not [r.feature for why in explained for r in why if r.feature in RULE_FEATURES]
    assert [n for n in NAMES if not REGISTRY[n].explained] == NAMES
