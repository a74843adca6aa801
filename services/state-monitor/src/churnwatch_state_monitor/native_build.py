"""Compile the rule engine (the ``engine`` sub-package) with mypyc into its own directory.

python -m churnwatch_state_monitor.native_build build [--out DIR]
python -m churnwatch_state_monitor.native_build status

See ``native`` for the loader. mypyc type-checks and then runs the C compiler for half a minute or
so: the build says what it compiles and reports progress while it waits.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from churnwatch_state_monitor.native import (
    DIR_ENV,
    MANIFEST,
    MODE_ENV,
    MODULE_PATH,
    PACKAGE,
    SOURCE_DIR,
    abi,
    build_dir,
    problem,
    source_hashes,
)

PROGRESS_EVERY_S = 5.0


def _say(text: str) -> None:
    print(f"native_build: {text}", file=sys.stderr, flush=True)


def _run_mypyc(cwd: str, modules: list[str]) -> subprocess.CompletedProcess[str]:
    """mypyc over ``modules`` in ``cwd``, with a progress line every few seconds."""
    command = [
        sys.executable,
        "-m",
        "mypyc",
        "--ignore-missing-imports",
        "--follow-imports=silent",
        *(f"{MODULE_PATH}/{name}.py" for name in modules),
    ]
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            command, cwd=cwd, env={**os.environ, MODE_ENV: "off"}, stdout=out, stderr=err, text=True
        )
        while True:
            try:
                process.wait(timeout=PROGRESS_EVERY_S)
                break
            except subprocess.TimeoutExpired:
                _say(f"still compiling ({time.monotonic() - started:.0f} s)")
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, process.returncode, out.read(), err.read())


def build(out: Path) -> None:
    """Compile every module of ``engine/`` from this package's sources into ``out`` (atomically)."""
    hashes = source_hashes()
    modules = sorted(hashes)
    _say(f"compiling {len(modules)} engine modules with mypyc: {', '.join(modules)}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="churnwatch-native-") as tmp:
        tree = Path(tmp) / PACKAGE
        package_dir = SOURCE_DIR.parent
        shutil.copytree(package_dir, tree, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        compiled = _run_mypyc(tmp, modules)
        if compiled.returncode != 0:  # mypy's type errors or the C compiler's, as they came
            sys.stderr.write(compiled.stdout[-20_000:] + compiled.stderr[-20_000:])
            raise SystemExit(f"mypyc failed (exit {compiled.returncode}); see above")
        staging = out.with_name(out.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / MODULE_PATH).mkdir(parents=True)
        for runtime in Path(tmp).glob("*__mypyc.*.so"):
            shutil.copy2(runtime, staging / runtime.name)
        for name in modules:
            for extension in (Path(tmp) / MODULE_PATH).glob(f"{name}.*.so"):
                shutil.copy2(extension, staging / MODULE_PATH / extension.name)
        if source_hashes() != hashes:
            raise RuntimeError("sources changed while compiling; run the build again")
        (staging / MANIFEST).write_text(
            json.dumps({"abi": abi(), "sources": hashes, "modules": modules}, indent=2) + "\n"
        )
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
    _say(f"done in {time.monotonic() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    """Command line: build the engine or say whether the build is fresh."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {PACKAGE}.native_build",
        description="Build or inspect the compiled rule engine.",
    )
    parser.add_argument("command", choices=("build", "status"))
    parser.add_argument("--out", type=Path, default=None, help=f"build directory (${DIR_ENV})")
    args = parser.parse_args(argv)
    directory = args.out or build_dir()
    if args.command == "build":
        build(directory)
        print(f"compiled {', '.join(sorted(source_hashes()))} into {directory}")
        return 0
    reason = problem(directory)
    print("fresh" if reason is None else reason)
    return 0 if reason is None else 1


if __name__ == "__main__":
    sys.exit(main())
