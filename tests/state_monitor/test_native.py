"""The compiled rule engine: loaded only when it matches its source, and equal to the interpreted one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from churnwatch_state_monitor import native

DIGEST = Path(__file__).with_name("native_digest.py")
EXTENSION = ".cpython-311-x86_64-linux-gnu.so"


def fake_build(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the engine sources and a build dir whose manifest matches them (empty .so files:
    ``problem`` only reads the manifest and looks for the files)."""
    sources = tmp_path / "src"
    sources.mkdir()
    for name in native.COMPILED:
        shutil.copy(native.SOURCE_DIR / f"{name}.py", sources)
    build = tmp_path / "build"
    (build / native.MODULE_PATH).mkdir(parents=True)
    for name in native.COMPILED:
        (build / native.MODULE_PATH / f"{name}{EXTENSION}").touch()
    manifest = {
        "abi": native.abi(),
        "sources": native.source_hashes(sources),
        "modules": list(native.COMPILED),
    }
    (build / native.MANIFEST).write_text(json.dumps(manifest))
    return sources, build


def test_a_build_matching_its_sources_may_be_loaded(tmp_path: Path) -> None:
    sources, build = fake_build(tmp_path)
    assert native.problem(build, sources) is None


def test_an_edited_rule_is_never_run_from_its_stale_build(tmp_path: Path) -> None:
    sources, build = fake_build(tmp_path)
    with (sources / "rules.py").open("a") as fh:
        fh.write("\n# a threshold changed\n")
    assert native.problem(build, sources) == "compiled engine is stale: rules.py changed since"


def test_every_engine_module_is_compiled_and_a_new_or_removed_one_makes_the_build_stale(
    tmp_path: Path,
) -> None:
    on_disk = {p.stem for p in native.SOURCE_DIR.glob("*.py")} - {"__init__"}
    assert set(native.COMPILED) == on_disk
    assert {"monitor", "batch", "state", "rules", "scoring", "silence", "snapshot"} <= on_disk
    sources, build = fake_build(tmp_path)
    (sources / "extra.py").write_text("X = 1\n")
    assert native.problem(build, sources) == "compiled engine is stale: extra.py changed since"
    (sources / "extra.py").unlink()
    (sources / "rules.py").unlink()
    assert native.problem(build, sources) == "compiled engine is stale: rules.py removed since"


def test_a_build_for_another_interpreter_or_an_incomplete_one_is_refused(tmp_path: Path) -> None:
    sources, build = fake_build(tmp_path)
    (build / native.MODULE_PATH / f"monitor{EXTENSION}").unlink()
    assert "no monitor extension" in (native.problem(build, sources) or "")
    manifest = json.loads((build / native.MANIFEST).read_text())
    (build / native.MANIFEST).write_text(json.dumps({**manifest, "abi": "cpython-312-x"}))
    assert "compiled for cpython-312-x" in (native.problem(build, sources) or "")
    assert "no compiled engine" in (native.problem(tmp_path / "nowhere", sources) or "")


def test_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.DIR_ENV, str(tmp_path / "nowhere"))
    path: list[str] = []
    monkeypatch.setenv(native.MODE_ENV, "off")
    assert native.activate(path) == "interpreted (CHURNWATCH_MONITOR_NATIVE=off)"
    monkeypatch.setenv(native.MODE_ENV, "auto")
    assert native.activate(path).startswith("interpreted (no compiled engine at ")
    monkeypatch.setenv(native.MODE_ENV, "require")
    with pytest.raises(ImportError, match="require but no compiled engine"):
        native.activate(path)
    monkeypatch.setenv(native.MODE_ENV, "fast")
    with pytest.raises(ImportError, match="is not one of auto, off, require"):
        native.activate(path)
    assert path == []  # nothing was put on the package's path


def _digest(mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, str(DIGEST), "150", "200"],
        capture_output=True,
        text=True,
        env={**os.environ, native.MODE_ENV: mode},
        check=True,
        timeout=240,
    )
    return json.loads(result.stdout)


@pytest.mark.skipif(
    native.problem(native.build_dir()) is not None and native.mode() != "require",
    reason="no fresh compiled engine here (make test builds it and requires it)",
)
def test_compiled_engine_makes_exactly_what_the_interpreted_one_makes() -> None:
    compiled, interpreted = _digest("require"), _digest("off")
    assert compiled["build"] == "compiled"
    assert interpreted["build"].startswith("interpreted")
    assert compiled["counts"] == interpreted["counts"]
    assert all(
        compiled["counts"][k] > 100
        for k in ("applied", "duplicate", "redelivered", "late", "alerts")
    )
    assert compiled["digest"] == interpreted["digest"]
