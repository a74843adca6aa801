"""The frameworks' log output made fit for a JSON log: no terminal spinner, no false ERRORs.

faust's worker draws a progress spinner on stdout and ends it with terminal escapes
(``\\b\\x1b[?25h``) even when stdout is a file, which broke the first line of the JSON log.
aiokafka logs ``GroupCoordinatorNotAvailableError`` at ERROR while a fresh broker or group is
still electing its coordinator; it retries by itself and the worker joins moments later, so the
record is a warning that says so (a coordinator that never comes shows as not-ready instead).
"""

from __future__ import annotations

import logging

from faust import Worker

COORDINATOR_LOGGER = "aiokafka.consumer.group_coordinator"
TRANSIENT = ("GroupCoordinatorNotAvailableError",)
CONTEXT = " (transient while the broker elects the group coordinator; the consumer retries)"


class _TransientAsWarning(logging.Filter):
    """Lower known-transient ERROR records of a logger to WARNING, with why."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            message = record.getMessage()
            if any(name in message for name in TRANSIENT):
                record.msg, record.args = message + CONTEXT, ()
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_transient_errors() -> None:
    """Install the filter on aiokafka's group coordinator logger (idempotent)."""
    logger = logging.getLogger(COORDINATOR_LOGGER)
    if not any(isinstance(f, _TransientAsWarning) for f in logger.filters):
        logger.addFilter(_TransientAsWarning())


def without_spinner(worker: Worker) -> Worker:
    """``worker`` without its terminal spinner (it then logs "Ready" instead)."""
    worker.spinner = None
    return worker
