"""Another commit of this repository, checked out and set up to run its own compiled monitor.

:class:`BaselineTree` checks ``ref`` out into a temporary git worktree outside the repository
(``git worktree add --detach``), gives it an interpreter and compiles its engine with its own
``native_build`` into the worktree's own build directory, so the baseline runs its own code,
compiled with mypyc like the current one:

- the same third-party set (its ``uv.lock`` equals the current one): the current venv's
  interpreter with ``PYTHONPATH`` listing the worktree's package sources first. PYTHONPATH comes
  before site-packages, so every ``churnwatch_*`` package (regular packages, not namespaces)
  resolves to the worktree and the current checkout's editable installs are never reached;
- another lock: its own venv made by the project's uv (``uv sync --frozen``, from uv's cache),
  so the baseline runs with the dependencies it was committed with.

Used by ``bench/monitor_compare.py``; this file is never part of the test suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[1]
UV = REPO / ".local" / "tools" / "bin" / "uv"
# Variables of the current checkout that must not leak into the baseline's processes.
_CLEARED = ("PYTHONPATH", "CHURNWATCH_MONITOR_NATIVE_DIR", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")


def _git(*args: str, cwd: Path = REPO) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def resolve(ref: str) -> str:
    """The full commit id of ``ref`` (a clear error when the ref names no commit)."""
    try:
        return _git("rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
    except RuntimeError as exc:
        raise ValueError(f"baseline {ref!r} is not a commit of {REPO}: {exc}") from None


def _say(text: str) -> None:
    print(f"[checkout] {text}", flush=True)


class BaselineTree:
    """A worktree of ``ref`` with an interpreter and a freshly compiled engine (context manager)."""

    def __init__(self, *, ref: str) -> None:
        self.ref = ref
        self.commit = resolve(ref)
        self.subject = _git("log", "-1", "--format=%s", self.commit)[:120]
        self.root = Path(tempfile.mkdtemp(prefix="churnwatch-baseline-"))
        self.tree = self.root / "tree"
        self.python = sys.executable
        self.env: dict[str, str] = {}  # what the baseline's processes get on top of os.environ
        self.setup: dict[str, object] = {}

    def __enter__(self) -> BaselineTree:
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def base_env(self) -> dict[str, str]:
        """os.environ without the current checkout's own paths, plus this baseline's variables."""
        env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
        return {**env, **self.env}

    def _create(self) -> None:
        started = time.monotonic()
        _say(f"worktree of {self.commit[:10]} ({self.subject[:70]}) at {self.tree}")
        _git("worktree", "add", "--detach", str(self.tree), self.commit)
        same_lock = (REPO / "uv.lock").read_bytes() == (self.tree / "uv.lock").read_bytes()
        if same_lock:
            sources = {
                str(init.parent.parent)  # .../src
                for pattern in (
                    "*/src/churnwatch_*/__init__.py",
                    "*/*/src/churnwatch_*/__init__.py",
                )
                for init in self.tree.glob(pattern)
            }
            self.env["PYTHONPATH"] = os.pathsep.join(sorted(sources))
            interpreter = "current venv, PYTHONPATH = the worktree's package sources"
        else:
            venv = self.root / "venv"
            _say("its uv.lock differs from the current one: own venv (uv sync --frozen)")
            self._run(
                [str(UV), "sync", "--frozen", "--all-packages", "--all-groups", "--quiet"],
                extra={
                    "UV_PROJECT_ENVIRONMENT": str(venv),
                    # the interpreter the current venv was made from
                    "UV_PYTHON": getattr(sys, "_base_executable", sys.executable),
                    "UV_PYTHON_DOWNLOADS": "never",
                    "UV_LINK_MODE": "copy",
                },
            )
            self.python = str(venv / "bin" / "python")
            interpreter = f"own venv {venv} (uv.lock differs)"
        _say("compiling its engine with its own native_build")
        self._run(
            [self.python, "-m", "churnwatch_state_monitor.native_build", "build"],
            extra={
                "CHURNWATCH_MONITOR_NATIVE": "off"
            },  # importing the builder must not need a build
        )
        # the package must come from the worktree and its engine load compiled
        check = self._run(
            [
                self.python,
                "-c",
                "import churnwatch_state_monitor as m; print(m.__file__); print(m.ENGINE_BUILD)",
            ],
            extra={"CHURNWATCH_MONITOR_NATIVE": "require"},
        )
        where, build = check.splitlines()[-2:]
        if not Path(where).resolve().is_relative_to(self.tree.resolve()):
            raise RuntimeError(f"baseline imports the monitor from {where}, not from {self.tree}")
        self.setup = {
            "ref": self.ref,
            "commit": self.commit,
            "subject": self.subject,
            "interpreter": interpreter,
            "monitor_engine": build,
            "setup_s": round(time.monotonic() - started, 1),
        }
        _say(f"ready in {self.setup['setup_s']} s: {interpreter}; engine {build}")

    def _run(self, command: list[str], *, extra: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            command,
            cwd=self.tree,
            env={**self.base_env(), **(extra or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-4000:]
            raise RuntimeError(f"baseline set-up step {command[:4]} failed:\n{tail}")
        return done.stdout

    def close(self) -> None:
        """Remove the worktree (and its registration in the repository) and the temporary dir."""
        if self.tree.exists():
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(self.tree)],
                cwd=REPO,
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True, check=False)
