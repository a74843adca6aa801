"""The command line writes the same files for the same seed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _generate(tmp: Path, name: str) -> tuple[bytes, dict]:
    out, truth = tmp / f"{name}.ndjson", tmp / f"{name}.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "churnwatch_simulator",
            "generate",
            "--customers",
            "120",
            "--days",
            "40",
            "--seed",
            "9",
            "--out",
            str(out),
            "--truth",
            str(truth),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out.read_bytes(), json.loads(truth.read_text())


def test_generate_writes_events_and_truth_deterministically(tmp_path: Path) -> None:
    events_a, truth_a = _generate(tmp_path, "a")
    events_b, truth_b = _generate(tmp_path, "b")
    assert events_a == events_b and truth_a == truth_b
    assert truth_a["events"] == len(events_a.splitlines())
    assert len(truth_a["labels"]) == 120 and truth_a["seed"] == 9


def test_too_few_days_is_refused() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "churnwatch_simulator",
            "generate",
            "--days",
            "5",
            "--out",
            "/dev/null",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "at least 14" in result.stderr
