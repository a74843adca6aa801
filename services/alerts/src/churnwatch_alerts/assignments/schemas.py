"""API shapes of assignments and hand-overs (never ORM models)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HandOverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    successor_id: str = Field(min_length=1, max_length=128)
    customer_id: str | None = Field(
        default=None, description="one customer; omit with from_manager_id"
    )
    from_manager_id: str | None = Field(default=None, description="all customers of this manager")


class HandOverResult(BaseModel):
    customers: list[str]
    alerts_moved: int
