# The two commands: `make serve` and `make test`. Both create .venv and install, idempotently.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8765

.PHONY: serve test lint typecheck unit bench bench-quick soak clean install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/sessionhub serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (one per core of the reference machine), whole files per worker so that a file's
# module-scoped servers start once; the few tests that disturb shared services (a PostgreSQL
# restart) run alone first.
unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "serial and not slow"
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow and not serial"

test: $(STAMP)
	./scripts/ensure-system-deps
	$(MAKE) --no-print-directory lint typecheck unit

bench: $(STAMP)
	./scripts/ensure-system-deps bench
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m bench.run

bench-quick: $(STAMP)
	./scripts/ensure-system-deps bench
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m bench.run --quick

soak: $(STAMP)
	SESSIONHUB_SOAK=1 $(BIN)/python -m pytest -q -s -m "slow or reliability"

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
