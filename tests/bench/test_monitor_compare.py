"""The baseline comparison of bench/monitor_compare.py: its verdict, and the baseline checkout."""

from __future__ import annotations

import subprocess

import pytest

from bench.baseline_tree import REPO, BaselineTree, resolve
from bench.monitor_compare import verdict


def test_the_verdict_compares_medians_and_reports_each_round() -> None:
    figures = verdict(current=[96.0, 120.0, 95.0], baseline=[100.0, 100.0, 90.0])
    assert figures["ratio"] == 0.96  # medians 96 / 100
    assert figures["ratio_per_round"] == [0.96, 1.2, 1.056]
    assert figures["ratio_median_of_rounds"] == 1.056
    assert figures["ratio_spread"] == round((1.2 - 0.96) / 1.056, 3)
    assert figures["passed"] is True
    assert verdict(current=[94.0], baseline=[100.0])["passed"] is False  # 6% slower
    assert verdict(current=[130.0], baseline=[100.0])["passed"] is True  # faster passes


def test_an_unknown_baseline_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="no-such-ref-4f1e"):
        resolve("no-such-ref-4f1e")


@pytest.mark.integration
@pytest.mark.timeout(1200)  # mypyc compiles the checkout's engine: minutes on a loaded machine
def test_the_baseline_runs_its_own_compiled_engine_outside_the_repository() -> None:
    head = resolve("HEAD")
    with BaselineTree(ref="HEAD") as tree:
        assert not tree.tree.resolve().is_relative_to(REPO)
        assert tree.setup["commit"] == head
        assert tree.setup["monitor_engine"] == "compiled"  # its own build, under its own tree
        assert (tree.tree / "services/state-monitor/build/native/manifest.json").is_file()
        where = subprocess.run(
            [
                tree.python,
                "-c",
                "import churnwatch_shared, churnwatch_simulator as s; print(s.__file__)",
            ],
            cwd=tree.tree,
            env=tree.base_env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert where.startswith(str(tree.tree))  # every package from the worktree
        path = tree.tree
    assert not path.exists()
    listed = subprocess.run(
        ["git", "worktree", "list"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert str(path) not in listed
