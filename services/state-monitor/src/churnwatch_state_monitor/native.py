"""The rule engine compiled with mypyc, and the guard that loads it only when it matches its source.

Every module of the ``engine`` sub-package (plain, fully typed Python, Kafka-free) is compiled:
there is no list to keep in step, a module added to ``engine/`` is compiled by the next build and
makes the current one stale. ``build`` compiles them with mypyc into a directory of their own
(never next to the sources), with a manifest of the SHA-256 of every source it compiled. When
``engine`` is imported, ``activate`` puts that directory in front of the sub-package's search path
only when every hash still matches the source beside it, so an edited rule can never run as its
stale compiled version. Otherwise the interpreted modules run, unchanged.

``CHURNWATCH_MONITOR_NATIVE``: ``auto`` (default: compiled when fresh, else interpreted),
``off`` (always interpreted), ``require`` (refuse to start without a fresh compiled engine; the
container image and the test suite use it). ``CHURNWATCH_MONITOR_NATIVE_DIR`` moves the build
directory (default: ``services/state-monitor/build/native`` in a checkout).

Build and inspect with ``python -m churnwatch_state_monitor.native_build build|status``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import sysconfig
from pathlib import Path

PACKAGE = "churnwatch_state_monitor"
ENGINE = "engine"  # the compiled sub-package
MODULE_PATH = f"{PACKAGE}/{ENGINE}"  # where its extensions sit, in the build and in a source tree
MODE_ENV = "CHURNWATCH_MONITOR_NATIVE"
DIR_ENV = "CHURNWATCH_MONITOR_NATIVE_DIR"
MODES = ("auto", "off", "require")
MANIFEST = "manifest.json"
SOURCE_DIR = Path(__file__).resolve().parent / ENGINE


def engine_modules(source_dir: Path = SOURCE_DIR) -> tuple[str, ...]:
    """Every module of the engine sub-package (its ``__init__`` only activates the build)."""
    return tuple(sorted(p.stem for p in source_dir.glob("*.py") if p.stem != "__init__"))


COMPILED: tuple[str, ...] = engine_modules()


def build_dir() -> Path:
    configured = os.environ.get(DIR_ENV)
    return Path(configured) if configured else SOURCE_DIR.parents[2] / "build" / "native"


def abi() -> str:
    return f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_hashes(source_dir: Path = SOURCE_DIR) -> dict[str, str]:
    return {name: _digest(source_dir / f"{name}.py") for name in engine_modules(source_dir)}


def problem(directory: Path, source_dir: Path = SOURCE_DIR) -> str | None:
    """Why the build in ``directory`` must not be loaded for these sources (None: it may)."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        return f"no compiled engine at {directory} (run: python -m {PACKAGE}.native_build build)"
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError:
        return f"unreadable {manifest_path}"
    if manifest.get("abi") != abi():
        return f"compiled for {manifest.get('abi')}, this interpreter is {abi()}"
    built = manifest.get("sources", {})
    hashes = source_hashes(source_dir)
    stale = sorted(name for name, digest in hashes.items() if built.get(name) != digest)
    if stale:
        return f"compiled engine is stale: {', '.join(f'{n}.py' for n in stale)} changed since"
    removed = sorted(set(built) - set(hashes))  # its extension must not shadow a missing source
    if removed:
        return f"compiled engine is stale: {', '.join(f'{n}.py' for n in removed)} removed since"
    missing = [name for name in hashes if not any((directory / MODULE_PATH).glob(f"{name}.*.so"))]
    if missing:
        return f"compiled engine incomplete: no {', '.join(missing)} extension in {directory}"
    return None


def mode() -> str:
    value = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ImportError(f"{MODE_ENV}={value!r} is not one of {', '.join(MODES)}")
    return value


def activate(package_path: list[str]) -> str:
    """Called by ``engine/__init__``; returns how the engine runs, for logs and metrics."""
    wanted = mode()
    if wanted == "off":
        return f"interpreted ({MODE_ENV}=off)"
    directory = build_dir()
    reason = problem(directory)
    if reason is None:
        package_path.insert(0, str(directory / MODULE_PATH))
        if str(directory) not in sys.path:
            sys.path.append(str(directory))  # mypyc's shared runtime module is top-level
        return "compiled"
    if wanted == "require":
        raise ImportError(f"{MODE_ENV}=require but {reason}")
    return f"interpreted ({reason})"
