"""The development service credential of the monitor's state view, for tests that read it."""

from __future__ import annotations

from churnwatch_shared.service_auth import DEV_MONITOR_TOKEN

MONITOR_AUTH = {"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"}
