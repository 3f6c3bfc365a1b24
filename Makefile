# Two commands do all the set-up: `make run` starts the product, `make test` runs the tests.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The newest Python 3.11+ on this machine.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { echo $$p; break; }; done)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test lint bench stub clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/cramp-coach db upgrade
	$(BIN)/cramp-coach run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check skill scheduler tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/bench_claim.py
	$(BIN)/python bench/bench_claim.py --scale 10000,1000000
	$(BIN)/python bench/bench_dispatch.py
	$(BIN)/python bench/bench_placement.py
	$(BIN)/python bench/bench_endpoint.py
	$(BIN)/python bench/bench_request_guards.py
	$(BIN)/python bench/bench_screens.py
	$(BIN)/python bench/bench_http.py
	$(BIN)/python bench/bench_metrics.py

stub: install
	$(BIN)/python -m tests.stubs.alexa_api --port 8088

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
