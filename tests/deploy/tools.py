"""The deployment tests' tools (helm, promtool): found where `make ops-tools` puts them, or failed.

Nothing is downloaded at test time and nothing is skipped: a missing tool fails the test, naming
the make target that installs it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / ".local/tools/bin/helm"
HELM_VERSION = "v4.3.2"  # deploy/tools/install-ops-tools.sh


def helm_path() -> Path:
    """The Helm binary built by `make ops-tools`."""
    if not HELM.exists():
        pytest.fail(
            f"helm not found at {HELM}: run `make ops-tools` (deploy/tools/install-ops-tools.sh)"
        )
    return HELM


def promtool_path() -> str:
    """promtool from Debian's prometheus package."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found on PATH: run `make ops-tools` (Debian package prometheus)")
    return found


def run(*, args: list[str | Path], cwd: Path = REPO) -> str:
    """Run a tool; fail the test with its output when it exits non-zero."""
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout
