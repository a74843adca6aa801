"""``python -m churnwatch_ingest``: --help prints usage and exits 0 without starting the server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from churnwatch_ingest.__main__ import main


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_usage_and_exits_0(flag: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "churnwatch_ingest", flag],
        capture_output=True,
        text=True,
        timeout=30,  # the server would run until killed
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:"), done.stdout
    assert "hash-key" in done.stdout
    assert "CHURNWATCH_INGEST_" in done.stdout


def test_hash_key_help_names_the_argon2_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["hash-key", "--help"])
    assert exited.value.code == 0
    assert "--argon2" in capsys.readouterr().out


def test_unknown_argument_is_refused_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--port=9"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --port=9" in err
    assert err.startswith("usage:")
