"""deploy/postgres/postgres.sh works from a clone that other users cannot enter (run as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import free_port

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "postgres" / "postgres.sh"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_a_clone_under_a_private_directory_gets_a_working_cluster(tmp_path: Path) -> None:
    # tmp_path's parents are 0700 like /root or `mktemp -d`: the 'postgres' user cannot enter them.
    clone = tmp_path / "clone"
    (clone / "deploy" / "postgres").mkdir(parents=True)
    script = clone / "deploy" / "postgres" / "postgres.sh"
    shutil.copy2(SCRIPT, script)
    tmp_path.chmod(0o700)
    env = {**os.environ, "CHURNWATCH_PG_PORT": str(free_port())}
    env.pop("CHURNWATCH_LOCAL_DIR", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    try:
        started = run("start")
        assert started.returncode == 0, started.stderr
        assert run("createdb", "probe").returncode == 0
        assert run("status").returncode == 0
    finally:
        stopped = run("stop")
        where = run("where").stdout.strip()
        if where.startswith("/") and not where.startswith(str(tmp_path)):
            shutil.rmtree(Path(where).parent, ignore_errors=True)  # the relocated cluster
    assert stopped.returncode == 0, stopped.stderr
    assert run("status").returncode == 1
