# ChurnWatch: two commands matter — `make run` and `make test` (CI runs `make lint` then `make test`).
# Both set up everything from a fresh machine (Python 3.11, 3.12 or 3.13 as python3, or PYTHON=...;
# Java 17, Maven; PyPI, Maven Central and Debian packages reachable).
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
# The interpreter the environment is built with: the machine's python3 unless PYTHON is given.
PYTHON ?= python3
export UV_PYTHON := $(PYTHON)
export UV_LINK_MODE := copy
UV_VERSION := 0.13.8
UV := .local/tools/bin/uv
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: help setup lint run test fuzz up down status bench bench-full bench-model kafka-start kafka-stop postgres-start postgres-stop clean ops-tools

help:
	@echo "make run    set up, start broker + ingest + state monitor + alerts + demo feed (Ctrl-C stops)"
	@echo "make test   set up, start broker + PostgreSQL, run the whole suite"
	@echo "make lint   ruff check, ruff format --check and mypy over every package"
	@echo "make fuzz   the OpenAPI fuzz test with FUZZ_EXAMPLES (default 2000) fresh random examples"
	@echo "make up / make down / make status   the same stack in the background"
	@echo "make bench  measure throughput and latency, write bench/results/"
	@echo "make bench-model  the churn model's quality on the simulator (also in bench-full)"

$(UV):
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13), f"Python 3.11 to 3.13 required, $(PYTHON) is {sys.version.split()[0]}"'
	$(PYTHON) -m venv .local/tools
	.local/tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# One stamp per Python version the venv was made with: naming another version (PYTHON=python3.12)
# re-runs the sync below, and uv replaces a venv whose interpreter does not match UV_PYTHON.
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYTHON_STAMP := .local/.python-$(or $(PYTHON_VERSION),unknown)
$(PYTHON_STAMP):
	@mkdir -p .local && rm -f .local/.python-* && touch $@

.venv/.synced: $(PYTHON_STAMP) $(UV) uv.lock pyproject.toml shared/pyproject.toml services/*/pyproject.toml tools/*/pyproject.toml
	$(UV) sync --frozen --all-packages --all-groups
	@touch $@

# The rule engine compiled with mypyc (churnwatch_state_monitor.native); rebuilt when its package changes.
NATIVE := services/state-monitor/build/native/manifest.json
$(NATIVE): .venv/.synced $(wildcard services/state-monitor/src/churnwatch_state_monitor/*.py services/state-monitor/src/churnwatch_state_monitor/engine/*.py)
	$(PY) -m churnwatch_state_monitor.native_build build

setup: .venv/.synced $(NATIVE)
	deploy/kafka/kafka.sh fetch

kafka-start: setup
	deploy/kafka/kafka.sh start

kafka-stop:
	deploy/kafka/kafka.sh stop

postgres-start:
	deploy/postgres/postgres.sh start

postgres-stop:
	deploy/postgres/postgres.sh stop

run: setup
	$(PY) deploy/stack.py run

up: setup
	$(PY) deploy/stack.py up

down:
	@if [ -x $(PY) ]; then $(PY) deploy/stack.py down; else deploy/kafka/kafka.sh stop; fi

status:
	$(PY) deploy/stack.py status

# mypy's settings (strict for the contracts and the rule engine) are in the root pyproject.toml.
# All three run even when one fails, so one run lists every finding.
lint: .venv/.synced
	@status=0; \
	echo "ruff check ."; .venv/bin/ruff check . || status=1; \
	echo "ruff format --check ."; .venv/bin/ruff format --check . || status=1; \
	echo "mypy"; .venv/bin/mypy || status=1; \
	exit $$status

test: setup ops-tools kafka-start postgres-start
	deploy/test-setup.sh
	CHURNWATCH_MONITOR_NATIVE=require $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# Helm (built from its Go module) and promtool (Debian's prometheus) for tests/deploy; idempotent.
ops-tools:
	deploy/tools/install-ops-tools.sh

# `make test` fuzzes a fixed (derandomized) set of examples; this runs fresh random ones.
FUZZ_EXAMPLES ?= 2000
fuzz: setup kafka-start
	CHURNWATCH_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) CHURNWATCH_MONITOR_NATIVE=require $(PY) -m pytest -q -p no:cacheprovider tests/ingest/test_openapi_fuzz.py $(PYTEST_ARGS)

bench: setup kafka-start
	CHURNWATCH_MONITOR_NATIVE=require $(PY) bench/run.py --mode short

bench-full: setup kafka-start
	CHURNWATCH_MONITOR_NATIVE=require $(PY) bench/run.py --mode full

bench-model: setup
	CHURNWATCH_MONITOR_NATIVE=require $(PY) bench/model_quality.py --mode full

clean: down
	deploy/postgres/postgres.sh stop || true
	rm -rf .local .venv
