# ChurnWatch state-monitor image. Build from the repository root:
#   docker build -f deploy/docker/state-monitor.Dockerfile -t churnwatch-state-monitor .
# Stage 1 compiles the rule engine with mypyc (the full python image has a C compiler); the
# runtime image gets the virtualenv without the compiler tools and the compiled engine, and
# refuses to start without it (CHURNWATCH_MONITOR_NATIVE=require).
FROM python:3.11 AS build
ENV UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
# The workspace needs every member's pyproject to read the lock; only this service's code is copied.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY services/ingest/pyproject.toml services/ingest/pyproject.toml
COPY services/state-monitor/pyproject.toml services/state-monitor/pyproject.toml
COPY services/alerts/pyproject.toml services/alerts/pyproject.toml
COPY tools/simulator/pyproject.toml tools/simulator/pyproject.toml
COPY tools/berka/pyproject.toml tools/berka/pyproject.toml
COPY shared/src shared/src
COPY services/state-monitor/src services/state-monitor/src
RUN uv sync --frozen --no-dev --group native --no-editable --package churnwatch-state-monitor \
 && CHURNWATCH_MONITOR_NATIVE=off .venv/bin/python -m churnwatch_state_monitor.native_build build \
      --out /app/native \
 && uv sync --frozen --no-dev --no-editable --package churnwatch-state-monitor

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PATH=/app/.venv/bin:$PATH \
    CHURNWATCH_MONITOR_NATIVE=require CHURNWATCH_MONITOR_NATIVE_DIR=/app/native
# libgomp1: LightGBM's OpenMP runtime (the churn model, CHURNWATCH_MONITOR_MODEL_DIR)
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 churnwatch && mkdir -p /data && chown 10001 /data
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/native /app/native
USER churnwatch
EXPOSE 8002
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8002/healthz').status == 200 else 1)"
CMD ["python", "-m", "churnwatch_state_monitor"]
