"""The managers' web inbox: one page at /inbox and its script and stylesheet under /inbox/assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, RedirectResponse

STATIC = Path(__file__).resolve().parent / "static"

# The page loads only its own script and stylesheet and talks only to this service.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

ASSETS = {
    "dates.js": "text/javascript; charset=utf-8",
    "inbox.js": "text/javascript; charset=utf-8",
    "inbox.css": "text/css; charset=utf-8",
    "cases.js": "text/javascript; charset=utf-8",
    "cases-value.js": "text/javascript; charset=utf-8",
    "cases-lead.js": "text/javascript; charset=utf-8",
    "cases.css": "text/css; charset=utf-8",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    """Send browsers to the inbox."""
    return RedirectResponse("/inbox")


@router.get("/inbox")
async def inbox() -> FileResponse:
    """The single-page inbox (login, alerts by priority, detail, ack/snooze/resolve)."""
    return FileResponse(
        STATIC / "inbox.html", media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS
    )


@router.get("/cases")
async def cases() -> FileResponse:
    """The cases workbench (one case per customer, customer 360, timeline; lead views)."""
    return FileResponse(
        STATIC / "cases.html", media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS
    )


@router.get("/inbox/assets/{name}")
async def asset(name: str) -> FileResponse:
    """The inbox's script and stylesheet (a fixed list: no path from the request reaches disk)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such asset")
    return FileResponse(STATIC / name, media_type=media_type, headers=SECURITY_HEADERS)
