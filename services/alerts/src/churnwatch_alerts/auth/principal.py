"""The authenticated caller: who they are and which customers they may see."""

from __future__ import annotations

from dataclasses import dataclass

from churnwatch_alerts.models import Role


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    role: Role
    team_id: str | None = None
    branch_id: str | None = None
