"""Where the browser tests put their screenshots.

By default into ``.local/test-logs/screenshots`` (ignored by git), so ``make test`` leaves the
tree clean. ``CHURNWATCH_UPDATE_SCREENSHOTS=1`` writes them into ``docs/screenshots`` (tracked,
shown in README) instead: run the browser tests with it after a change to a screen.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from playwright.async_api import Page

from tests.support.processes import LOG_DIR

UPDATE_ENV = "CHURNWATCH_UPDATE_SCREENSHOTS"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot_dir() -> Path:
    """docs/screenshots when asked to refresh them, else an ignored directory (created)."""
    target = DOCS if os.environ.get(UPDATE_ENV) == "1" else LOG_DIR / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    return target


def save_png(raw: bytes, path: Path) -> None:
    """Write a screenshot, as a 256-colour optimised PNG when Pillow is installed (README size)."""
    try:
        from PIL import Image  # optional: only to keep the pictures small
    except ImportError:
        path.write_bytes(raw)
        return
    Image.open(io.BytesIO(raw)).convert("RGB").quantize(colors=256).save(path, optimize=True)


async def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """A screenshot of ``page`` named ``name`` into ``screenshot_dir()``."""
    path = screenshot_dir() / name
    save_png(await page.screenshot(full_page=full_page), path)
    return path
