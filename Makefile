# The two commands: `make serve` and `make test`. Both create .venv and install, idempotently.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8765

.PHONY: serve test lint typecheck serial parallel unit bench bench-quick soak clean install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv installs the dev environment in ~10 s where pip takes ~45 s (same packages, same index),
# compiled to bytecode once (as pip does) rather than by every test process at first import.
$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv

$(STAMP): pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/sessionhub serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Three workers on the reference machine's two cores (a worker spends a third of its time waiting
# on server processes and timeouts), whole files per worker so that a file's module-scoped
# servers start once (longest files first: tests/conftest.py). The few tests that disturb shared
# services (a PostgreSQL restart) run alone first, beside mypy (which waits for nothing: beside
# the three workers it slowed them by a minute).
serial: $(STAMP)
	$(BIN)/python -m pytest -q -m "serial and not slow"

parallel: $(STAMP)
	$(BIN)/python -m pytest -q -n 3 --dist loadfile -m "not slow and not serial"

unit: $(STAMP)
	$(MAKE) --no-print-directory serial
	$(MAKE) --no-print-directory parallel

test: $(STAMP)
	./scripts/ensure-system-deps
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory -j2 -O typecheck serial
	$(MAKE) --no-print-directory parallel

bench: $(STAMP)
	./scripts/ensure-system-deps bench
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r bench/requirements.txt
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.search_bench

bench-quick: $(STAMP)
	./scripts/ensure-system-deps bench
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r bench/requirements.txt
	$(BIN)/python -m bench.run --quick
	$(BIN)/python -m bench.search_bench --quick

soak: $(STAMP)
	SESSIONHUB_SOAK=1 $(BIN)/python -m pytest -q -s -m "slow or reliability"
	SESSIONHUB_SOAK=1 $(BIN)/python -m pytest -q tests/context/test_strategies.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
