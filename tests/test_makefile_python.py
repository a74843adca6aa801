"""`make ... PYTHON=python3.X` builds the environment with that Python, also over an existing venv."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _other_python() -> str | None:
    """A working interpreter of another supported minor version than this venv's, if installed."""
    for minor in (11, 12, 13):
        if minor == sys.version_info.minor:
            continue
        name = f"python3.{minor}"
        # on PATH, or installed beside this one (pyenv's versions/<x.y.z>/bin, whose shims
        # refuse versions that are not selected)
        found = [shutil.which(name)]
        found += sorted(str(p) for p in Path(sys.base_prefix).parent.glob(f"3.{minor}*/bin/{name}"))
        for candidate in filter(None, found):
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                check=False,
            )
            if probe.returncode == 0 and probe.stdout.strip() == f"(3, {minor})":
                return candidate
    return None


def test_another_python_version_remakes_the_environment() -> None:
    other = _other_python()
    if other is None:
        pytest.skip("no other Python 3.11-3.13 installed here")
    # dry run (-n): what make would do, nothing is executed
    plan = subprocess.run(
        ["make", "-n", "setup", f"PYTHON={other}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert plan.returncode == 0, plan.stderr
    # uv sync replaces a venv whose interpreter does not match UV_PYTHON (checked with uv 0.13.8)
    assert "uv sync" in plan.stdout, plan.stdout
