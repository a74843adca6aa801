"""The browser tests keep the tree clean: screenshots go to an ignored directory unless asked."""

from __future__ import annotations

import subprocess

import pytest

from tests.alerts.screenshots import DOCS, UPDATE_ENV, screenshot_dir


def _ignored(path: str) -> bool:
    check = subprocess.run(["git", "check-ignore", "-q", path], cwd=DOCS.parents[1], check=False)
    return check.returncode == 0


def test_screenshots_go_to_an_ignored_directory_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UPDATE_ENV, raising=False)
    target = screenshot_dir()
    assert target != DOCS
    assert _ignored(str(target / "case-page-laptop.png"))


def test_docs_screenshots_are_refreshed_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UPDATE_ENV, "1")
    assert screenshot_dir() == DOCS
    assert not _ignored(str(DOCS / "case-page-laptop.png"))
