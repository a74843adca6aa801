"""API shapes of customers' states (never ORM models)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class CustomerStateOut(BaseModel):
    customer_id: str
    snapshot: dict[str, Any] | None


class CustomerLiveStateOut(BaseModel):
    customer_id: str
    source: str = "state-monitor"
    state: dict[str, Any]
