"""``python -m churnwatch_state_monitor``: validate the rule set, then run the Faust worker."""

from __future__ import annotations

import gc
import logging
import sys

import faust
import structlog

from churnwatch_shared.logging import configure_logging
from churnwatch_shared.observability import configure_tracing
from churnwatch_state_monitor import ENGINE_BUILD
from churnwatch_state_monitor.ruleset import RuleSetError, load_ruleset
from churnwatch_state_monitor.worker.app import create_app
from churnwatch_state_monitor.worker.framework_logs import quiet_transient_errors, without_spinner
from churnwatch_state_monitor.worker.settings import MonitorSettings

log = structlog.get_logger("churnwatch.state_monitor")

# Loggers whose DEBUG records cost time on the hot path even when filtered (perf notes).
_QUIET = ("faust", "aiokafka", "mode", "kafka", "aiohttp.access")


# A batch keeps its events' models, states and alerts alive until it is delivered (~10 tracked
# objects per event, ~50,000 for a 5,000-event batch). With CPython's young threshold (700) every
# batch re-walked and promoted its own objects many times; 200,000 lets reference counting free a
# batch before a collection starts. Start-up objects (modules, schemas, the rule set) are frozen
# out of collection; cycles are still collected.
GC_THRESHOLDS = (200_000, 10, 10)


def main() -> int:
    """Start the worker in the foreground; returns the exit code."""
    settings = MonitorSettings()
    common = settings.common
    configure_logging(service="state-monitor", level=common.log_level, json=common.log_json)
    for name in _QUIET:
        logging.getLogger(name).setLevel(settings.framework_log_level)
    configure_tracing(service="state-monitor")  # CHURNWATCH_TRACING, OTEL_*: off by default
    quiet_transient_errors()
    try:
        ruleset = load_ruleset(settings.rules_file)
    except RuleSetError as exc:
        log.error("refusing to start: invalid rule set", error=str(exc))
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    service = create_app(settings=settings, ruleset=ruleset)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    log.info(
        "state monitor starting",
        app_id=settings.resolved_app_id,
        ruleset_version=ruleset.version,
        store=settings.store,
        web=f"http://{settings.host}:{settings.web_port}",
        rule_engine=ENGINE_BUILD,
    )
    worker = without_spinner(
        faust.Worker(
            service.app,
            loglevel="warning",
            override_logging=False,
            redirect_stdouts=False,
            quiet=True,
        )
    )
    worker.execute_from_commandline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
