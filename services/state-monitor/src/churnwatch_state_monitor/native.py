"""The rule engine compiled with mypyc, and the guard that loads it only when it matches its source.

The modules in ``COMPILED`` are plain, fully typed Python. ``build`` compiles them with mypyc into
a directory of their own (never next to the sources), with a manifest of the SHA-256 of every
source it compiled. At import of the package, ``activate`` puts that directory in front of the
package's search path only when every hash still matches the source beside it, so an edited rule
can never run as its stale compiled version. Otherwise the interpreted modules run, unchanged.

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
COMPILED: tuple[str, ...] = (
    "buckets",
    "facts",
    "limits",
    "state",
    "snapshot",
    "rules",
    "scoring",
    "silence",
    "engine",
    "batch",
)
MODE_ENV = "CHURNWATCH_MONITOR_NATIVE"
DIR_ENV = "CHURNWATCH_MONITOR_NATIVE_DIR"
MODES = ("auto", "off", "require")
MANIFEST = "manifest.json"
SOURCE_DIR = Path(__file__).resolve().parent


def build_dir() -> Path:
    configured = os.environ.get(DIR_ENV)
    return Path(configured) if configured else SOURCE_DIR.parents[1] / "build" / "native"


def abi() -> str:
    return f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_hashes(source_dir: Path = SOURCE_DIR) -> dict[str, str]:
    return {name: _digest(source_dir / f"{name}.py") for name in COMPILED}


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
    stale = sorted(
        name for name, digest in source_hashes(source_dir).items() if built.get(name) != digest
    )
    if stale:
        return f"compiled engine is stale: {', '.join(f'{n}.py' for n in stale)} changed since"
    missing = [name for name in COMPILED if not any((directory / PACKAGE).glob(f"{name}.*.so"))]
    if missing:
        return f"compiled engine incomplete: no {', '.join(missing)} extension in {directory}"
    return None


def mode() -> str:
    value = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ImportError(f"{MODE_ENV}={value!r} is not one of {', '.join(MODES)}")
    return value


def activate(package_path: list[str]) -> str:
    """Called by the package's ``__init__``; returns how the engine runs, for logs and metrics."""
    wanted = mode()
    if wanted == "off":
        return f"interpreted ({MODE_ENV}=off)"
    directory = build_dir()
    reason = problem(directory)
    if reason is None:
        package_path.insert(0, str(directory / PACKAGE))
        if str(directory) not in sys.path:
            sys.path.append(str(directory))  # mypyc's shared runtime module is top-level
        return "compiled"
    if wanted == "require":
        raise ImportError(f"{MODE_ENV}=require but {reason}")
    return f"interpreted ({reason})"
