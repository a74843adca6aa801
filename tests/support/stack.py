"""Several ChurnWatch services as real processes on one namespace, for end-to-end tests and benches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import ServiceProcess, free_port

# service -> (module, the variable that sets its HTTP port)
SERVICES: dict[str, tuple[str, str]] = {
    "alerts": ("churnwatch_alerts", "CHURNWATCH_ALERTS_PORT"),
    "monitor": ("churnwatch_state_monitor", "CHURNWATCH_MONITOR_WEB_PORT"),
    "ingest": ("churnwatch_ingest", "CHURNWATCH_INGEST_PORT"),
}


@contextmanager
def running_services(
    *,
    names: Sequence[str],
    bootstrap: str,
    namespace: str,
    data_dir: Path,
    env: Mapping[str, Mapping[str, str]] | None = None,
    label: str = "e2e",
    log_level: str | None = None,
) -> Iterator[dict[str, str]]:
    """Start ``names`` in order, wait until each is ready, yield their base URLs, stop them all.

    ``env`` adds variables per service name; every service gets the common ones (development
    mode, the broker, the namespace) and the monitor its own data directory.
    """
    common = {
        "CHURNWATCH_ENV": "development",
        "CHURNWATCH_KAFKA_BOOTSTRAP": bootstrap,
        "CHURNWATCH_TOPIC_NAMESPACE": namespace,
        **({"CHURNWATCH_LOG_LEVEL": log_level} if log_level else {}),
    }
    urls: dict[str, str] = {}
    started: list[ServiceProcess] = []
    try:
        for name in names:
            module, port_variable = SERVICES[name]
            port = free_port()
            urls[name] = f"http://127.0.0.1:{port}"
            service_env = {**common, port_variable: str(port), **(env or {}).get(name, {})}
            if name == "monitor":
                service_env.setdefault("CHURNWATCH_MONITOR_DATA_DIR", str(data_dir / "monitor"))
            process = ServiceProcess(
                name=f"{label}-{name}",
                module=module,
                env=service_env,
                health_url=f"{urls[name]}/healthz",
            )
            started.append(process.start(timeout=120))
        for process, name in zip(started, names, strict=True):
            process.wait_healthy(url=f"{urls[name]}/readyz", timeout=120)
        yield urls
    finally:
        for process in reversed(started):
            process.stop()
    # reached only when the body succeeded: then no service may have hidden a 500
    for process in started:
        log = process.log_path.read_text(errors="replace")
        assert "unhandled_error" not in log, f"{process.name} logged an unhandled error"
