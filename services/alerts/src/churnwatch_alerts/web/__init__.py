"""The managers' web inbox, served as static files at /inbox."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

STATIC = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/inbox")


@router.get("/inbox")
async def inbox() -> FileResponse:
    """The single-page inbox (login, alerts by priority, detail, ack/snooze/resolve)."""
    return FileResponse(STATIC / "inbox.html", media_type="text/html")
