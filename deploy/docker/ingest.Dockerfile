# ChurnWatch ingest image. Build from the repository root:
#   docker build -f deploy/docker/ingest.Dockerfile -t churnwatch-ingest .
FROM python:3.11-slim
ENV UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 \
    PYTHONUNBUFFERED=1 PATH=/app/.venv/bin:$PATH
RUN pip install --no-cache-dir uv==0.13.8 && useradd --system --uid 10001 churnwatch
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
COPY services/ingest/src services/ingest/src
COPY deploy/kafka/create_topics.py deploy/kafka/create_topics.py
RUN uv sync --frozen --no-dev --no-editable --package churnwatch-ingest
USER churnwatch
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8001/healthz').status == 200 else 1)"
CMD ["python", "-m", "churnwatch_ingest"]
