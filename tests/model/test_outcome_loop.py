"""The outcome loop on SQLite: managers' resolutions exported by the alerts service train a model."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import orjson

from churnwatch_alerts.db import create_engine
from churnwatch_simulator.bank import SimulatedBank
from churnwatch_simulator.truth import ground_truth
from churnwatch_state_monitor.model.cli import main
from churnwatch_state_monitor.model.labels import read_outcomes
from tests.alerts.outcome_rows import resolved_alert, store
from tests.model.conftest import AS_OF


def _resolutions(bank: SimulatedBank) -> list:
    """A lost resolution on each churner's churn day, a retained one for every other stayer."""
    rows = []
    for n, t in enumerate(ground_truth(bank=bank)["labels"]):
        if t["churn_date"]:
            at = datetime.combine(date.fromisoformat(t["churn_date"]), datetime.min.time(), UTC)
            rows.append(resolved_alert(alert_id=f"a{n}", customer_id=t["customer_id"],
                                       outcome="lost", at=at.replace(hour=12)))  # fmt: skip
        elif n % 2:
            at = datetime(2025, 3, 1, tzinfo=UTC)
            rows.append(resolved_alert(alert_id=f"a{n}", customer_id=t["customer_id"],
                                       outcome="retained", at=at))  # fmt: skip
    return rows


def test_exported_outcomes_equal_the_resolutions_and_train_a_model(
    sim: tuple[Path, Path, SimulatedBank], tmp_path: Path
) -> None:
    events, truth_outcomes, bank = sim
    url = f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}"

    async def fill() -> None:
        engine = create_engine(url=url)
        try:
            await store(engine, _resolutions(bank))
        finally:
            await engine.dispose()

    asyncio.run(fill())
    exported = tmp_path / "outcomes.csv"
    done = subprocess.run(
        [sys.executable, "-m", "churnwatch_alerts", "export-outcomes", "--out", str(exported)],
        env={**os.environ, "CHURNWATCH_ALERTS_DATABASE_URL": url},
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert read_outcomes(exported) == read_outcomes(truth_outcomes)
    assert orjson.loads(done.stdout)["lost"] == len(read_outcomes(truth_outcomes)) > 0
    out = tmp_path / "model"
    argv = ["train", str(events), "--outcomes", str(exported), "--out", str(out)]
    assert main([*argv, "--horizon-days", "60", "--as-of", *AS_OF]) == 0
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["metrics"]["test"]["positives"] > 0
