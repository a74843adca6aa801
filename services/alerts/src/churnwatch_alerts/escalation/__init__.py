"""Escalation: unacknowledged alerts climb the supervisor chain after a per-severity SLA."""
