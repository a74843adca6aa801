"""The audit log: written by every read and change (writer), read by auditors (endpoints)."""

from churnwatch_alerts.audit.writer import (
    SYSTEM_ESCALATION,
    SYSTEM_INTAKE,
    record,
    record_now,
)

__all__ = ["SYSTEM_ESCALATION", "SYSTEM_INTAKE", "record", "record_now"]
