"""A small simulated bank with known outcomes and a model trained on it (shared by the tests)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from churnwatch_simulator.bank import SimulatedBank, SimulationConfig
from churnwatch_simulator.truth import ground_truth

AS_OF = [f"2025-{m:02d}-{d:02d}" for m in range(2, 7) for d in (1, 15)]


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, SimulatedBank]:
    """Events NDJSON and OUTCOMES.csv (churn dates from the simulator's ground truth)."""
    root = tmp_path_factory.mktemp("sim")
    bank = SimulatedBank(config=SimulationConfig(customers=300, days=240, seed=16))
    events = root / "events.ndjson"
    events.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in bank.events()))
    outcomes = root / "outcomes.csv"
    rows = ["customer_id,churned_at"]
    rows.extend(
        f"{t['customer_id']},{t['churn_date'] or ''}" for t in ground_truth(bank=bank)["labels"]
    )
    outcomes.write_text("\n".join(rows) + "\n")
    return events, outcomes, bank


@pytest.fixture(scope="session")
def model_dir(sim: tuple[Path, Path, SimulatedBank], tmp_path_factory: pytest.TempPathFactory):
    """A model trained by the CLI on the small bank."""
    from churnwatch_state_monitor.model.cli import main

    events, outcomes, _ = sim
    out = tmp_path_factory.mktemp("model") / "m1"
    argv = ["train", str(events), "--outcomes", str(outcomes), "--out", str(out)]
    assert main([*argv, "--horizon-days", "60", "--as-of", *AS_OF]) == 0
    return out
