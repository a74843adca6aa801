"""Compile the rule engine with mypyc into its own directory (see ``native`` for the loader).

python -m churnwatch_state_monitor.native_build build [--out DIR]
python -m churnwatch_state_monitor.native_build status
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from churnwatch_state_monitor.native import (
    COMPILED,
    DIR_ENV,
    MANIFEST,
    MODE_ENV,
    PACKAGE,
    SOURCE_DIR,
    abi,
    build_dir,
    problem,
    source_hashes,
)


def build(out: Path) -> None:
    """Compile ``COMPILED`` from this package's sources into ``out`` (replaced atomically)."""
    hashes = source_hashes()
    with tempfile.TemporaryDirectory(prefix="churnwatch-native-") as tmp:
        tree = Path(tmp) / PACKAGE
        shutil.copytree(SOURCE_DIR, tree, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        compiled = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypyc",
                "--ignore-missing-imports",
                "--follow-imports=silent",
                *(f"{PACKAGE}/{name}.py" for name in COMPILED),
            ],
            cwd=tmp,
            env={**os.environ, MODE_ENV: "off"},
            capture_output=True,
            text=True,
            check=False,
        )
        if compiled.returncode != 0:  # mypy's type errors or the C compiler's, as they came
            sys.stderr.write(compiled.stdout[-20_000:] + compiled.stderr[-20_000:])
            raise SystemExit(f"mypyc failed (exit {compiled.returncode}); see above")
        staging = out.with_name(out.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / PACKAGE).mkdir(parents=True)
        for runtime in Path(tmp).glob("*__mypyc.*.so"):
            shutil.copy2(runtime, staging / runtime.name)
        for name in COMPILED:
            for extension in tree.glob(f"{name}.*.so"):
                shutil.copy2(extension, staging / PACKAGE / extension.name)
        if source_hashes() != hashes:
            raise RuntimeError("sources changed while compiling; run the build again")
        (staging / MANIFEST).write_text(
            json.dumps({"abi": abi(), "sources": hashes, "modules": list(COMPILED)}, indent=2)
            + "\n"
        )
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)


def main(argv: list[str] | None = None) -> int:
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
        print(f"compiled {', '.join(COMPILED)} into {directory}")
        return 0
    reason = problem(directory)
    print("fresh" if reason is None else reason)
    return 0 if reason is None else 1


if __name__ == "__main__":
    sys.exit(main())
