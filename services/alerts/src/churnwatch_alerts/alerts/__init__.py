"""Alerts: intake storage, the manager API (list, detail, ack, snooze, resolve) and precision."""
